package rpc

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/internal/freeport"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A hand-written echo service, shaped like generated code, so the tests
// do not depend on the generator.

type echoServer interface {
	Echo(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

type echoImpl struct {
	started chan struct{} // when set, Echo "block" signals here
}

// Echo behaves according to the request text:
//
//	panic            panics
//	sleep:DUR        sleeps DUR or until the call is canceled
//	block            signals started, then waits for cancellation
//	error:CODE:MSG   fails with that status
//	md               echoes incoming metadata "k" into the header and "t" into the trailer
//	big:N            replies with N bytes
//	anything else    echoes
func (e *echoImpl) Echo(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	v := in.GetValue()
	switch {
	case v == "panic":
		panic("boom")
	case strings.HasPrefix(v, "sleep:"):
		d, _ := time.ParseDuration(v[6:])
		select {
		case <-time.After(d):
			return in, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case v == "block":
		if e.started != nil {
			e.started <- struct{}{}
		}
		<-ctx.Done()
		return nil, ctx.Err()
	case strings.HasPrefix(v, "error:"):
		parts := strings.SplitN(v, ":", 3)
		c, _ := strconv.Atoi(parts[1])
		return nil, status.Error(codes.Code(c), parts[2])
	case v == "md":
		md, _ := metadata.FromIncomingContext(ctx)
		if err := SetHeader(ctx, metadata.MD{"k": md["k"], "kb-bin": md["kb-bin"]}); err != nil {
			return nil, err
		}
		if err := SetTrailer(ctx, metadata.Pairs("t", strings.Join(md["t"], ","))); err != nil {
			return nil, err
		}
		return in, nil
	case strings.HasPrefix(v, "big:"):
		n, _ := strconv.Atoi(v[4:])
		return wrapperspb.String(strings.Repeat("x", n)), nil
	}
	return in, nil
}

func echoHandler(srv any, ctx context.Context, dec func(any) error, interceptor UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(echoServer).Echo(ctx, in)
	}
	info := &UnaryServerInfo{Server: srv, FullMethod: "/test.Echo/Echo"}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return srv.(echoServer).Echo(ctx, req.(*wrapperspb.StringValue))
	})
}

// Count streams N strings for an Int32Value N ("0".."N-1"), honoring
// cancellation between messages.
func countHandler(srv any, stream ServerStream) error {
	in := new(wrapperspb.Int32Value)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	s := &GenericServerStream[wrapperspb.Int32Value, wrapperspb.StringValue]{ServerStream: stream}
	for i := 0; i < int(in.Value); i++ {
		if err := s.Send(wrapperspb.String(strconv.Itoa(i))); err != nil {
			return err
		}
	}
	return nil
}

// Concat joins all received strings.
func concatHandler(srv any, stream ServerStream) error {
	s := &GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: stream}
	var b strings.Builder
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(wrapperspb.String(b.String()))
		}
		if err != nil {
			return err
		}
		b.WriteString(m.Value)
	}
}

// Chat echoes every message with a prefix.
func chatHandler(srv any, stream ServerStream) error {
	s := &GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: stream}
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(wrapperspb.String("echo:" + m.Value)); err != nil {
			return err
		}
	}
}

var echoDesc = ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*echoServer)(nil),
	Methods:     []MethodDesc{{MethodName: "Echo", Handler: echoHandler}},
	Streams: []StreamDesc{
		{StreamName: "Count", Handler: countHandler, ServerStreams: true},
		{StreamName: "Concat", Handler: concatHandler, ClientStreams: true},
		{StreamName: "Chat", Handler: chatHandler, ServerStreams: true, ClientStreams: true},
	},
	Metadata: "test.proto",
}

type env struct {
	srv  *Server
	cc   *ClientConn
	impl *echoImpl
	addr string // loopback address, "" in memory
}

// newEnv starts an echo server in memory (or on loopback when tcp) and a
// client for it; both are stopped at the end of the test.
func newEnv(t *testing.T, tcp bool, sopts []ServerOption, copts ...DialOption) *env {
	t.Helper()
	addr := ""
	if tcp {
		addr = "127.0.0.1:0"
	}
	return newEnvAt(t, addr, sopts, copts...)
}

// newEnvAt is newEnv on loopback address addr ("" in memory).
func newEnvAt(t *testing.T, addr string, sopts []ServerOption, copts ...DialOption) *env {
	t.Helper()
	e := &env{impl: &echoImpl{started: make(chan struct{}, 16)}}
	e.srv = NewServer(sopts...)
	e.srv.RegisterService(&echoDesc, e.impl)
	var target string
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		e.addr = l.Addr().String()
		target = e.addr
		go func() { _ = e.srv.Serve(l) }()
	} else {
		l := NewInMemoryListener()
		target = "inmem"
		copts = append([]DialOption{WithContextDialer(l.Dial)}, copts...)
		go func() { _ = e.srv.Serve(l) }()
	}
	cc, err := NewClient(target, append([]DialOption{WithInsecure()}, copts...)...)
	require.NoError(t, err)
	e.cc = cc
	t.Cleanup(func() {
		cc.Close()
		e.srv.Stop()
	})
	return e
}

func (e *env) echo(ctx context.Context, s string, opts ...CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := e.cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String(s), out, opts...)
	return out.GetValue(), err
}

// checkNoLeaks fails when goroutines started by the test outlive it.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// quietAddr is a loopback address nothing listens on, with a port below the
// kernel's ephemeral range: no other process is handed it, so it stays
// free for a server a test starts there later, or refuses connections as
// long as the test leaves it alone (a port from port 0, once released, may
// go to any listener on the machine).
func quietAddr(t *testing.T) string {
	t.Helper()
	port, err := freeport.BelowEphemeral("127.0.0.1")
	require.NoError(t, err)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var _ = fmt.Sprint

// clientOfH2Server serves hs (a plain HTTP/2 server standing in for a
// gRPC one) in memory and returns a client connected to it; both close
// when the test ends. No port: the fuzz targets start one per input.
func clientOfH2Server(t *testing.T, hs *h2.Server) *ClientConn {
	t.Helper()
	l := NewInMemoryListener()
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { _ = hs.Close() })
	cc, err := NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
