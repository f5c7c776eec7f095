package gentest

import (
	"context"
	"errors"
	"testing"

	"example.com/gentest/collide"
	"example.com/gentest/kinds"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// fakeConn records what the generated client asks of its connection.
type fakeConn struct {
	methods []string
	descs   []*rpc.StreamDesc
	stream  *fakeClientStream
}

func (f *fakeConn) Invoke(_ context.Context, method string, args, reply any, _ ...rpc.CallOption) error {
	f.methods = append(f.methods, method)
	reply.(*kinds.Res).Text = "re: " + args.(*kinds.Req).GetText()
	return nil
}

func (f *fakeConn) NewStream(_ context.Context, desc *rpc.StreamDesc, method string, _ ...rpc.CallOption) (rpc.ClientStream, error) {
	f.methods = append(f.methods, method)
	f.descs = append(f.descs, desc)
	f.stream = &fakeClientStream{}
	return f.stream, nil
}

type fakeClientStream struct {
	rpc.ClientStream // the methods not overridden are not used
	sent             []any
	closed           bool
}

func (s *fakeClientStream) SendMsg(m any) error { s.sent = append(s.sent, m); return nil }
func (s *fakeClientStream) CloseSend() error    { s.closed = true; return nil }
func (s *fakeClientStream) RecvMsg(m any) error { m.(*kinds.Res).Text = "streamed"; return nil }

func TestClientCallsTheRightMethods(t *testing.T) {
	ctx := context.Background()
	conn := &fakeConn{}
	c := kinds.NewKindsClient(conn)

	res, err := c.Unary(ctx, &kinds.Req{Text: "hi"})
	if err != nil || res.GetText() != "re: hi" || conn.methods[0] != "/h2rpc.test.kinds.Kinds/Unary" {
		t.Fatalf("Unary: %v %v %v", res, err, conn.methods)
	}

	in := &kinds.Req{Text: "one"}
	ss, err := c.ServerStream(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if d := conn.descs[0]; d.StreamName != "ServerStream" || !d.ServerStreams || d.ClientStreams {
		t.Fatalf("ServerStream desc: %+v", d)
	}
	if len(conn.stream.sent) != 1 || conn.stream.sent[0] != in || !conn.stream.closed {
		t.Fatalf("server streaming must send the request and half-close: %+v", conn.stream)
	}
	if r, err := ss.Recv(); err != nil || r.GetText() != "streamed" {
		t.Fatalf("Recv: %v %v", r, err)
	}

	if _, err := c.ClientStream(ctx); err != nil {
		t.Fatal(err)
	}
	if d := conn.descs[1]; d.StreamName != "ClientStream" || d.ServerStreams || !d.ClientStreams {
		t.Fatalf("ClientStream desc: %+v", d)
	}
	if len(conn.stream.sent) != 0 || conn.stream.closed {
		t.Fatalf("client streaming must not send or close on its own: %+v", conn.stream)
	}

	if _, err := c.OldBidi(ctx); err != nil {
		t.Fatal(err)
	}
	if d := conn.descs[2]; d.StreamName != "OldBidi" || !d.ServerStreams || !d.ClientStreams {
		t.Fatalf("OldBidi desc: %+v", d)
	}
	if got := conn.methods[len(conn.methods)-1]; got != kinds.Kinds_OldBidi_FullMethodName {
		t.Fatalf("OldBidi method %q", got)
	}
}

type kindsImpl struct {
	kinds.UnimplementedKindsServer
	got *kinds.Req
}

func (k *kindsImpl) Unary(_ context.Context, r *kinds.Req) (*kinds.Res, error) {
	k.got = r
	return &kinds.Res{Text: "ok " + r.GetText()}, nil
}

func (k *kindsImpl) ServerStream(r *kinds.Req, s rpc.ServerStreamingServer[kinds.Res]) error {
	k.got = r
	return s.Send(&kinds.Res{Text: "first"})
}

type fakeServerStream struct {
	rpc.ServerStream
	sent []any
}

func (s *fakeServerStream) RecvMsg(m any) error { m.(*kinds.Req).Text = "from stream"; return nil }
func (s *fakeServerStream) SendMsg(m any) error { s.sent = append(s.sent, m); return nil }

func unaryHandler(t *testing.T, name string) rpc.MethodHandler {
	for _, m := range kinds.Kinds_ServiceDesc.Methods {
		if m.MethodName == name {
			return m.Handler
		}
	}
	t.Fatalf("no method %s", name)
	return nil
}

func TestServerHandlers(t *testing.T) {
	ctx := context.Background()
	impl := &kindsImpl{}
	dec := func(m any) error { m.(*kinds.Req).Text = "decoded"; return nil }
	h := unaryHandler(t, "Unary")

	res, err := h(impl, ctx, dec, nil)
	if err != nil || res.(*kinds.Res).GetText() != "ok decoded" {
		t.Fatalf("without interceptor: %v %v", res, err)
	}

	var info *rpc.UnaryServerInfo
	icpt := func(ctx context.Context, req any, i *rpc.UnaryServerInfo, next rpc.UnaryHandler) (any, error) {
		info = i
		req.(*kinds.Req).Text += " and intercepted"
		return next(ctx, req)
	}
	res, err = h(impl, ctx, dec, icpt)
	if err != nil || res.(*kinds.Res).GetText() != "ok decoded and intercepted" {
		t.Fatalf("with interceptor: %v %v", res, err)
	}
	if info.FullMethod != kinds.Kinds_Unary_FullMethodName || info.Server != impl {
		t.Fatalf("info: %+v", info)
	}

	decErr := errors.New("bad bytes")
	if _, err := h(impl, ctx, func(any) error { return decErr }, nil); !errors.Is(err, decErr) {
		t.Fatalf("decode error not returned: %v", err)
	}

	stream := &fakeServerStream{}
	if err := kinds.Kinds_ServiceDesc.Streams[0].Handler(impl, stream); err != nil {
		t.Fatal(err)
	}
	if impl.got.GetText() != "from stream" || len(stream.sent) != 1 {
		t.Fatalf("server streaming handler: %v %v", impl.got, stream.sent)
	}
}

func TestUnimplemented(t *testing.T) {
	_, err := kinds.UnimplementedKindsServer{}.Unary(context.Background(), &kinds.Req{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("code %v", status.Code(err))
	}
	if s, _ := status.FromError(err); s.Message() != "method Unary not implemented" {
		t.Fatalf("message %q", s.Message())
	}
	err = kinds.Kinds_ServiceDesc.Streams[2].Handler(&kindsImpl{}, &fakeServerStream{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("Bidi: %v", err)
	}
}

type registrar struct {
	desc *rpc.ServiceDesc
	impl any
}

func (r *registrar) RegisterService(d *rpc.ServiceDesc, impl any) { r.desc, r.impl = d, impl }

func TestRegister(t *testing.T) {
	var r registrar
	impl := collide.UnimplementedServiceServer{}
	collide.RegisterServiceServer(&r, impl)
	if r.desc != &collide.Service_ServiceDesc || r.impl != impl {
		t.Fatalf("registered %+v", r)
	}
	if r.desc.ServiceName != "h2rpc.test.collide.Service" || r.desc.Metadata != "collide/collide.proto" {
		t.Fatalf("desc %+v", r.desc)
	}
	var names []string
	for _, m := range r.desc.Methods {
		names = append(names, m.MethodName)
	}
	for _, s := range r.desc.Streams {
		names = append(names, s.StreamName)
	}
	want := "Close get_thing Invoke NewStream RegisterService String Context Send Recv stream_things Handle"
	if got := join(names); got != want {
		t.Fatalf("method names %q, want %q", got, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
