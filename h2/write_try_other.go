//go:build !unix

package h2

import "net"

// tryWriter writes without blocking where the system lets us; here it does
// not, so callers leave every write to the writer goroutine.
type tryWriter struct{}

func newTryWriter(net.Conn) *tryWriter { return nil }

func (*tryWriter) try([]byte) int { return 0 }
