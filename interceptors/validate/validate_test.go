package validate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/validate"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// checked is a plain value with a Validate method, for Check's own cases.
type checked struct{ err error }

func (c checked) Validate() error { return c.err }

func TestCheck(t *testing.T) {
	require.NoError(t, validate.Check("no validator"))
	require.NoError(t, validate.Check(checked{}))

	err := validate.Check(checked{errors.New("name is empty")})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "name is empty", status.Convert(err).Message())

	withDetails := status.New(codes.InvalidArgument, "bad").Err()
	require.Equal(t, status.Convert(withDetails).Proto().String(), status.Convert(validate.Check(checked{withDetails})).Proto().String())

	err = validate.Check(checked{status.Error(codes.Internal, "oops")})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "oops", status.Convert(err).Message())
}

// The proto messages of the test service have no Validate method, so the
// tests swap in a codec-free trick: a server interceptor placed before
// validate replaces the decoded request with a Validator wrapper.

// vreq is a SimpleRequest that refuses an empty payload.
type vreq struct{ *testpb.SimpleRequest }

func (r vreq) Validate() error {
	if len(r.GetPayload().GetBody()) == 0 {
		return errors.New("payload is required")
	}
	return nil
}

func wrapReq(ctx context.Context, req any, _ *rpc.UnaryServerInfo, h rpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, vreq{req.(*testpb.SimpleRequest)})
	return resp, err
}

// unwrapReq hands the handler the original message again.
func unwrapReq(ctx context.Context, req any, _ *rpc.UnaryServerInfo, h rpc.UnaryHandler) (any, error) {
	return h(ctx, req.(vreq).SimpleRequest)
}

func TestUnaryServer(t *testing.T) {
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{
		rpc.ChainUnaryInterceptor(wrapReq, validate.UnaryServerInterceptor(), unwrapReq),
	})
	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "payload is required", status.Convert(err).Message())
	r, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("x")})
	require.NoError(t, err)
	require.Equal(t, "x", string(r.GetPayload().GetBody()))
}

// vstream sits inside validate's stream interceptor and hands the
// received message down as a vout, so that validate's RecvMsg sees a
// Validator: the test's stand-in for generated Validate methods. vout is
// still a proto message (ProtoReflect is promoted), so it decodes as one.
type vstream struct{ rpc.ServerStream }

type vout struct {
	*testpb.StreamingOutputCallRequest
}

func (s vstream) RecvMsg(m any) error {
	return s.ServerStream.RecvMsg(vout{m.(*testpb.StreamingOutputCallRequest)})
}

func (v vout) Validate() error {
	if string(v.GetPayload().GetBody()) == "bad" {
		return errors.New("bad payload")
	}
	return nil
}

func TestStreamServer(t *testing.T) {
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{
		rpc.ChainStreamInterceptor(validate.StreamServerInterceptor(), func(srv any, ss rpc.ServerStream, _ *rpc.StreamServerInfo, h rpc.StreamHandler) error {
			return h(srv, vstream{ss})
		}),
	})
	st, err := c.FullDuplexCall(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("good")}))
	r, err := st.Recv()
	require.NoError(t, err)
	require.Equal(t, "good", string(r.GetPayload().GetBody()))
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("bad")}))
	_, err = st.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "bad payload", status.Convert(err).Message())
}

func TestClientRejectsBeforeSending(t *testing.T) {
	sent := 0
	count := func(ctx context.Context, method string, req, reply any, cc *rpc.ClientConn, inv rpc.UnaryInvoker, opts ...rpc.CallOption) error {
		sent++
		return inv(ctx, method, req, reply, cc, opts...)
	}
	cc, _ := testsrv.StartConn(t, &testsrv.Service{}, nil, rpc.WithChainUnaryInterceptor(validate.UnaryClientInterceptor(), count))
	err := cc.Invoke(context.Background(), testpb.TestService_UnaryCall_FullMethodName, checked{errors.New("nope")}, &testpb.SimpleResponse{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, 0, sent, "an invalid request never reaches the transport")
	require.NoError(t, cc.Invoke(context.Background(), testpb.TestService_UnaryCall_FullMethodName, &testpb.SimpleRequest{}, &testpb.SimpleResponse{}))
	require.Equal(t, 1, sent)
}

func TestClientStreamRejectsMessage(t *testing.T) {
	cc, _ := testsrv.StartConn(t, &testsrv.Service{}, nil, rpc.WithStreamInterceptor(validate.StreamClientInterceptor()))
	desc := &rpc.StreamDesc{StreamName: "FullDuplexCall", ServerStreams: true, ClientStreams: true}
	st, err := cc.NewStream(context.Background(), desc, testpb.TestService_FullDuplexCall_FullMethodName)
	require.NoError(t, err)
	err = st.SendMsg(checked{errors.New("too long")})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "too long", status.Convert(err).Message())
	require.NoError(t, st.SendMsg(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("fine")}), "the stream stays usable")
	var r testpb.StreamingOutputCallResponse
	require.NoError(t, st.RecvMsg(&r))
	require.Equal(t, "fine", string(r.GetPayload().GetBody()))
}
