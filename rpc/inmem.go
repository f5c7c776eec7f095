package rpc

import (
	"context"
	"errors"
	"net"
	"sync"
)

// InMemoryListener is a net.Listener whose connections are in-process
// pipes, so tests can run a real server and client (the same HTTP/2 engine,
// no ports) with:
//
//	l := rpc.NewInMemoryListener()
//	go srv.Serve(l)
//	cc, _ := rpc.NewClient("inmem", rpc.WithInsecure(), rpc.WithContextDialer(l.Dial))
type InMemoryListener struct {
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

// NewInMemoryListener returns a listener ready to accept.
func NewInMemoryListener() *InMemoryListener {
	return &InMemoryListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// errListenerClosed is returned by Accept and Dial after Close.
var errListenerClosed = errors.New("rpc: in-memory listener closed")

// Accept waits for the next Dial.
func (l *InMemoryListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errListenerClosed
	}
}

// Close stops Accept and makes later Dials fail; open connections live on.
func (l *InMemoryListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

// Addr returns a placeholder address.
func (l *InMemoryListener) Addr() net.Addr { return inmemAddr{} }

// Dial connects to the listener; its signature fits WithContextDialer.
func (l *InMemoryListener) Dial(ctx context.Context, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
	case <-ctx.Done():
		c.Close()
		s.Close()
		return nil, ctx.Err()
	}
	c.Close()
	s.Close()
	return nil, errListenerClosed
}

type inmemAddr struct{}

func (inmemAddr) Network() string { return "inmem" }
func (inmemAddr) String() string  { return "inmem" }
