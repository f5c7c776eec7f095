package main

import (
	"testing"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func TestMain(m *testing.M) {
	runPeerIfAsked() // the memory cases' server peer is this test binary too
	leakcheck.Main(m)
}
