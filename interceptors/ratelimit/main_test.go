package ratelimit_test

import (
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
)

// TestMain fails the run when the tests leave goroutines behind.
func TestMain(m *testing.M) { testsrv.Main(m) }
