//go:build !(linux && (amd64 || arm64))

package h2

import "net"

// tcpSendProgress has no kernel counters to read here: the stall watch
// probes with PING instead (stall.go).
func tcpSendProgress(net.Conn) (queued, acked int64, ok bool) { return 0, 0, false }
