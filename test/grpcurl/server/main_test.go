package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBadAddress(t *testing.T) {
	require.Error(t, run("not-an-address"))
}
