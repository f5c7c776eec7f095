package otelh2rpc_test

import (
	"testing"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// TestMain fails the run when the tests leave goroutines behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }
