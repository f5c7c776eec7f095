//go:build !linux

package rpc

import "net"

// unackedBytes is http1_unacked_linux.go's; elsewhere the count is not
// asked for, and a timed write that times out ends the connection.
func unackedBytes(net.Conn) (int, bool) { return 0, false }
