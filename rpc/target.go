package rpc

import (
	"net"
	"strings"
)

// defaultPort is the port of an address given without one, as in gRPC's
// name resolution: HTTPS's, since gRPC services are usually reached with TLS.
const defaultPort = "443"

// withDefaultPort returns addr with defaultPort added when it has no port:
// "host" and "127.0.0.1" become "host:443", "[::1]" and "::1" become "[::1]:443".
func withDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if host == "" {
		return addr // nothing to add a port to: let the dial say so
	}
	return net.JoinHostPort(host, defaultPort)
}
