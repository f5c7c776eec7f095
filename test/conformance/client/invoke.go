package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	v1 "github.com/h2rpc/h2rpc/test/conformance/internal/conformancev1"
	"google.golang.org/protobuf/proto"
)

// cancelTiming is when the call is canceled: before CloseSend, a while
// after it, or after some responses (negative: never).
type cancelTiming struct {
	beforeCloseSend   bool
	afterCloseSendMs  int
	afterNumResponses int
}

func timingOf(c *v1.ClientCompatRequest_Cancel) cancelTiming {
	t := cancelTiming{afterCloseSendMs: -1, afterNumResponses: -1}
	if c == nil {
		return t
	}
	switch x := c.GetCancelTiming().(type) {
	case *v1.ClientCompatRequest_Cancel_BeforeCloseSend:
		t.beforeCloseSend = true
	case *v1.ClientCompatRequest_Cancel_AfterCloseSendMs:
		t.afterCloseSendMs = int(x.AfterCloseSendMs)
	case *v1.ClientCompatRequest_Cancel_AfterNumResponses:
		t.afterNumResponses = int(x.AfterNumResponses)
	default:
		t.afterCloseSendMs = 0 // a cancel without a timing is "right after"
	}
	return t
}

// invoke makes the call and reports what it saw.
func invoke(cc *rpc.ClientConn, req *v1.ClientCompatRequest) (*v1.ClientResponseResult, error) {
	ctx := context.Background()
	if req.TimeoutMs != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.GetTimeoutMs())*time.Millisecond)
		defer cancel()
	}
	for _, h := range req.GetRequestHeaders() {
		for _, v := range h.GetValue() {
			ctx = metadata.AppendToOutgoingContext(ctx, h.GetName(), v)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := v1.NewConformanceServiceClient(cc)
	t := timingOf(req.GetCancel())
	switch req.GetMethod() {
	case "Unary":
		return unary(ctx, cancel, t, req, c.Unary, (*v1.UnaryResponse).GetPayload)
	case "IdempotentUnary":
		return unary(ctx, cancel, t, req, c.IdempotentUnary, (*v1.IdempotentUnaryResponse).GetPayload)
	case "Unimplemented":
		return unary(ctx, cancel, t, req, c.Unimplemented, func(*v1.UnimplementedResponse) *v1.ConformancePayload { return nil })
	case "ServerStream":
		return serverStream(ctx, cancel, t, req, c)
	case "ClientStream":
		return clientStream(ctx, cancel, t, req, c)
	case "BidiStream":
		return bidiStream(ctx, cancel, t, req, c)
	}
	return nil, fmt.Errorf("unknown method %q", req.GetMethod())
}

// message unpacks the request's i-th message as a T.
func message[T any, PT interface {
	*T
	proto.Message
}](req *v1.ClientCompatRequest, i int) (PT, error) {
	if i >= len(req.GetRequestMessages()) {
		return nil, fmt.Errorf("request message %d is missing", i)
	}
	m := PT(new(T))
	if err := req.GetRequestMessages()[i].UnmarshalTo(m); err != nil {
		return nil, err
	}
	return m, nil
}

func unary[T any, PT interface {
	*T
	proto.Message
}, R any](ctx context.Context, cancel context.CancelFunc, t cancelTiming, req *v1.ClientCompatRequest,
	call func(context.Context, PT, ...rpc.CallOption) (*R, error), payload func(*R) *v1.ConformancePayload,
) (*v1.ClientResponseResult, error) {
	in, err := message[T, PT](req, 0)
	if err != nil {
		return nil, err
	}
	if t.afterCloseSendMs >= 0 {
		time.AfterFunc(time.Duration(t.afterCloseSendMs)*time.Millisecond, cancel)
	}
	var hdr, tlr metadata.MD
	out, err := call(ctx, in, rpc.Header(&hdr), rpc.Trailer(&tlr))
	res := &v1.ClientResponseResult{ResponseHeaders: headers(hdr), ResponseTrailers: headers(tlr)}
	if err != nil {
		res.Error = protoError(err)
	} else {
		res.Payloads = append(res.Payloads, payload(out))
	}
	return res, nil
}

func serverStream(ctx context.Context, cancel context.CancelFunc, t cancelTiming, req *v1.ClientCompatRequest, c v1.ConformanceServiceClient) (*v1.ClientResponseResult, error) {
	in, err := message[v1.ServerStreamRequest](req, 0)
	if err != nil {
		return nil, err
	}
	res := &v1.ClientResponseResult{}
	stream, err := c.ServerStream(ctx, in)
	if err != nil {
		res.Error = protoError(err)
		return res, nil
	}
	if t.afterCloseSendMs >= 0 {
		time.Sleep(time.Duration(t.afterCloseSendMs) * time.Millisecond)
		cancel()
	}
	recvAll(stream.Recv, (*v1.ServerStreamResponse).GetPayload, res, t, cancel, 0)
	finish(stream, res)
	return res, nil
}

func clientStream(ctx context.Context, cancel context.CancelFunc, t cancelTiming, req *v1.ClientCompatRequest, c v1.ConformanceServiceClient) (*v1.ClientResponseResult, error) {
	res := &v1.ClientResponseResult{}
	stream, err := c.ClientStream(ctx)
	if err != nil {
		res.Error = protoError(err)
		return res, nil
	}
	for i := range req.GetRequestMessages() {
		m, err := message[v1.ClientStreamRequest](req, i)
		if err != nil {
			return nil, err
		}
		time.Sleep(time.Duration(req.GetRequestDelayMs()) * time.Millisecond)
		if err := stream.Send(m); err != nil {
			res.NumUnsentRequests = int32(len(req.GetRequestMessages()) - i)
			break
		}
	}
	if t.beforeCloseSend {
		cancel()
	} else if t.afterCloseSendMs >= 0 {
		time.AfterFunc(time.Duration(t.afterCloseSendMs)*time.Millisecond, cancel)
	}
	out, err := stream.CloseAndRecv()
	if err != nil {
		res.Error = protoError(err)
	} else {
		res.Payloads = append(res.Payloads, out.GetPayload())
	}
	hdr, _ := stream.Header()
	res.ResponseHeaders = headers(hdr)
	res.ResponseTrailers = headers(stream.Trailer())
	return res, nil
}

func bidiStream(ctx context.Context, cancel context.CancelFunc, t cancelTiming, req *v1.ClientCompatRequest, c v1.ConformanceServiceClient) (*v1.ClientResponseResult, error) {
	res := &v1.ClientResponseResult{}
	stream, err := c.BidiStream(ctx)
	if err != nil {
		res.Error = protoError(err)
		return res, nil
	}
	fullDuplex := req.GetStreamType() == v1.StreamType_STREAM_TYPE_FULL_DUPLEX_BIDI_STREAM
	received := 0
	for i := range req.GetRequestMessages() {
		m, err := message[v1.BidiStreamRequest](req, i)
		if err != nil {
			return nil, err
		}
		time.Sleep(time.Duration(req.GetRequestDelayMs()) * time.Millisecond)
		if err := stream.Send(m); err != nil {
			res.NumUnsentRequests = int32(len(req.GetRequestMessages()) - i)
			break
		}
		if fullDuplex {
			out, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					res.Error = protoError(err)
				}
				finish(stream, res)
				return res, nil
			}
			res.Payloads = append(res.Payloads, out.GetPayload())
			received++
			if received == t.afterNumResponses {
				cancel()
			}
		}
	}
	if t.beforeCloseSend {
		cancel()
	}
	_ = stream.CloseSend()
	if t.afterCloseSendMs >= 0 {
		time.Sleep(time.Duration(t.afterCloseSendMs) * time.Millisecond)
		cancel()
	}
	recvAll(stream.Recv, (*v1.BidiStreamResponse).GetPayload, res, t, cancel, received)
	finish(stream, res)
	return res, nil
}

// recvAll receives until the stream ends, canceling after the number of
// responses the timing names.
func recvAll[R any](recv func() (*R, error), payload func(*R) *v1.ConformancePayload, res *v1.ClientResponseResult, t cancelTiming, cancel context.CancelFunc, received int) {
	for {
		out, err := recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.Error = protoError(err)
			}
			return
		}
		res.Payloads = append(res.Payloads, payload(out))
		received++
		if received == t.afterNumResponses {
			cancel()
		}
	}
}

// finish records the stream's header and trailer metadata.
func finish(stream interface {
	Header() (metadata.MD, error)
	Trailer() metadata.MD
}, res *v1.ClientResponseResult) {
	hdr, _ := stream.Header()
	res.ResponseHeaders = headers(hdr)
	res.ResponseTrailers = headers(stream.Trailer())
}

// headers converts metadata to the suite's form: binary values in base64.
func headers(md metadata.MD) []*v1.Header {
	out := make([]*v1.Header, 0, len(md))
	for k, vs := range md {
		h := &v1.Header{Name: k}
		for _, v := range vs {
			if metadata.IsBinKey(k) {
				v = metadata.EncodeBin(v)
			}
			h.Value = append(h.Value, v)
		}
		out = append(out, h)
	}
	return out
}

func protoError(err error) *v1.Error {
	st := status.Convert(err)
	msg := st.Message()
	e := &v1.Error{Code: v1.Code(st.Code()), Message: &msg}
	if p := st.Proto(); p != nil {
		e.Details = p.Details
	}
	return e
}
