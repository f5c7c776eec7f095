package rpc

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// What the failure-contract test (e2e_contract_test.go) is built from: a
// service whose calls block until their context ends (and say when they
// start and how they end), a client connection wrapper that can hold or
// drop what crosses it, and an environment that keeps the server's raw
// connections so a test can kill them.

// contractImpl serves test.Contract. Every call, once it has what it waits
// for, reports on started and then blocks until its context ends, reported
// on ended: the server's view of the failure. A call whose (first) request
// is "ok" ends at once, with OK: the calls retried on a new connection.
type contractImpl struct {
	started chan string
	ended   chan error
}

func (c *contractImpl) block(ctx context.Context, kind string) error {
	c.started <- kind
	<-ctx.Done()
	c.ended <- ctx.Err()
	return ctx.Err()
}

func contractUnary(srv any, ctx context.Context, dec func(any) error, _ UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if in.Value == "ok" {
		return in, nil // the calls that warm the connection up, or are retried
	}
	return nil, srv.(*contractImpl).block(ctx, "unary")
}

func contractServerStream(srv any, st ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := st.RecvMsg(in); err != nil {
		return err
	}
	if err := st.SendMsg(wrapperspb.String("first")); err != nil || in.Value == "ok" {
		return err
	}
	return srv.(*contractImpl).block(st.Context(), "server streaming")
}

func contractClientStream(srv any, st ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := st.RecvMsg(in); err != nil {
		return err
	}
	if in.Value == "ok" {
		return st.SendMsg(in)
	}
	return srv.(*contractImpl).block(st.Context(), "client streaming")
}

func contractBidi(srv any, st ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := st.RecvMsg(in); err != nil {
		return err
	}
	if err := st.SendMsg(wrapperspb.String("first")); err != nil || in.Value == "ok" {
		return err
	}
	return srv.(*contractImpl).block(st.Context(), "bidi")
}

var contractDesc = ServiceDesc{
	ServiceName: "test.Contract",
	HandlerType: (*any)(nil),
	Methods:     []MethodDesc{{MethodName: "Unary", Handler: contractUnary}},
	Streams: []StreamDesc{
		{StreamName: "ServerStream", Handler: contractServerStream, ServerStreams: true},
		{StreamName: "ClientStream", Handler: contractClientStream, ClientStreams: true},
		{StreamName: "Bidi", Handler: contractBidi, ServerStreams: true, ClientStreams: true},
	},
}

// faultConn is the client's end of a connection, with faults: hold keeps
// what arrives until release; silence drops everything both ways from then
// on (a blackholed network: the kernel still accepts writes).
type faultConn struct {
	net.Conn
	mu      sync.Mutex
	flowing chan struct{} // closed while arriving bytes are delivered
	silent  bool
	closed  chan struct{}
	once    sync.Once
}

func newFaultConn(c net.Conn) *faultConn {
	f := &faultConn{Conn: c, flowing: make(chan struct{}), closed: make(chan struct{})}
	close(f.flowing)
	return f
}

func (f *faultConn) Read(p []byte) (int, error) {
	for {
		// A read already waiting when a fault begins still holds its bytes
		// back: the fault is checked once they are in.
		n, err := f.Conn.Read(p)
		f.mu.Lock()
		flowing, silent := f.flowing, f.silent
		f.mu.Unlock()
		if silent && err == nil {
			continue // lost on the way
		}
		select {
		case <-flowing:
			return n, err
		case <-f.closed:
			return 0, net.ErrClosed
		}
	}
}

func (f *faultConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	silent := f.silent
	f.mu.Unlock()
	if silent {
		return len(p), nil
	}
	return f.Conn.Write(p)
}

func (f *faultConn) Close() error {
	f.once.Do(func() { close(f.closed) })
	return f.Conn.Close()
}

func (f *faultConn) hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flowing = make(chan struct{})
}

func (f *faultConn) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.flowing)
}

func (f *faultConn) silence() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent = true
}

// contractEnv is a contract server on loopback and a client whose
// connections are faultConns.
type contractEnv struct {
	srv    *Server
	impl   *contractImpl
	cc     *ClientConn
	mu     sync.Mutex
	raw    []net.Conn   // the server's TCP connections, as accepted
	client []*faultConn // the client's connections, as dialed
}

type contractOptions struct {
	tls       bool
	keepalive *ClientParameters
}

func newContractEnv(t *testing.T, o contractOptions) *contractEnv {
	t.Helper()
	e := &contractEnv{impl: &contractImpl{started: make(chan string, 8), ended: make(chan error, 8)}}
	var sopts []ServerOption
	var copts []DialOption
	if o.tls {
		srvTLS, pool := selfSigned(t)
		sopts = append(sopts, Creds(srvTLS))
		copts = append(copts, WithTLS(&tls.Config{RootCAs: pool}))
	}
	if o.keepalive != nil {
		copts = append(copts, WithKeepaliveParams(*o.keepalive))
		// The server takes the client's pings while calls are open (its
		// default MinTime, 5 minutes, would count every ping after the
		// first as a strike): the calls wait in their handlers, the
		// client pings every Time, and a loaded machine that took four
		// Times to silence the network made the server end the calls with
		// GOAWAY too_many_pings instead.
		sopts = append(sopts, KeepaliveEnforcementPolicy(EnforcementPolicy{MinTime: time.Millisecond}))
	}
	e.srv = NewServer(sopts...)
	e.srv.RegisterService(&contractDesc, e.impl)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = e.srv.Serve(&recordingListener{Listener: l, e: e})
	}()
	copts = append(copts, WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		f := newFaultConn(c)
		e.mu.Lock()
		e.client = append(e.client, f)
		e.mu.Unlock()
		return f, nil
	}))
	e.cc, err = NewClient(l.Addr().String(), append([]DialOption{WithInsecure()}, copts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = e.cc.Close()
		e.srv.Stop()
		<-served
	})
	return e
}

// recordingListener keeps the server's raw connections for the test to kill.
type recordingListener struct {
	net.Listener
	e *contractEnv
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.e.mu.Lock()
		l.e.raw = append(l.e.raw, c)
		l.e.mu.Unlock()
	}
	return c, err
}

func (e *contractEnv) rawConns() []net.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]net.Conn(nil), e.raw...)
}

func (e *contractEnv) clientConns() []*faultConn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*faultConn(nil), e.client...)
}

// serverSessions returns the server's live h2 sessions.
func (e *contractEnv) serverSessions() []*h2.Session {
	var out []*h2.Session
	e.srv.conns.Range(func(k, _ any) bool {
		out = append(out, k.(*h2.Session))
		return true
	})
	return out
}

// warmUp makes one call, so that a connection is up and its server session known.
func (e *contractEnv) warmUp(t *testing.T) {
	t.Helper()
	err := e.cc.Invoke(ctxTimeout(t, 10*time.Second), "/test.Contract/Unary", wrapperspb.String("ok"), new(wrapperspb.StringValue))
	require.NoError(t, err)
}
