//go:build !unix

package rpc

import "net"

// socketAwaiter is http1_await_unix.go's; without it (newSocketAwaiter
// returns nil here), exchanges write and read as usual.
type socketAwaiter struct {
	beforeWait func() bool
}

func newSocketAwaiter(net.Conn) *socketAwaiter { return nil }

func (*socketAwaiter) writeThenAwait([]byte) (int, error) { return 0, nil }
