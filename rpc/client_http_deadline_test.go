package rpc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// answerAfterDeadline is an HTTPClient that answers each request only once
// the request's context has ended, with what answer builds. It forces, every
// time, the race a real transport loses now and then under load: the server
// saw the call given up (the connection closed, the stream reset) and
// answered CANCELED, and net/http's transport returns a response that
// raced the request's context ending rather than the context's error.
type answerAfterDeadline func(r *http.Request) *http.Response

func (f answerAfterDeadline) Do(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return f(r), nil
}

func httpAnswer(code int, ct string, body io.Reader) *http.Response {
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(body), ContentLength: -1}
}

// ctxBody is a response body whose bytes never come: its read fails when
// the request's context ends, as net/http's do.
type ctxBody struct{ ctx context.Context }

func (b ctxBody) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, context.Cause(b.ctx)
}

// A call whose deadline passed says DEADLINE_EXCEEDED whatever the server
// answered to its end: a Connect unary error CANCELED (in the response's
// header, where nothing else looks at the context), a Connect stream's or a
// gRPC-Web end of stream CANCELED, or an error body cut short by the
// deadline (its HTTP status, 504, would read UNAVAILABLE). CI once saw
// CANCELED from TestHTTPClientErrorsAndMetadata/connect/http1-tls.
func TestHTTPClientDeadlineBeatsServerCanceled(t *testing.T) {
	canceled := status.New(codes.Canceled, "context canceled")
	connectEnd := appendConnectEndStream(nil, canceled, nil)
	grpcWebEnd := appendGRPCWebTrailers(nil, h2.Header{{Name: "grpc-status", Value: "1"}, {Name: "grpc-message", Value: "context canceled"}})
	for _, c := range []struct {
		name   string
		p      Protocol
		stream bool
		answer answerAfterDeadline
	}{
		{"connect-unary-canceled", ProtocolConnect, false, func(*http.Request) *http.Response {
			return httpAnswer(499, "application/json", bytes.NewReader([]byte(`{"code":"canceled","message":"context canceled"}`)))
		}},
		{"connect-unary-body-cut", ProtocolConnect, false, func(r *http.Request) *http.Response {
			return httpAnswer(504, "application/json", ctxBody{r.Context()})
		}},
		{"connect-stream-canceled", ProtocolConnect, true, func(*http.Request) *http.Response {
			return httpAnswer(200, "application/connect+proto", bytes.NewReader(connectEnd))
		}},
		{"grpc-web-unary-canceled", ProtocolGRPCWeb, false, func(*http.Request) *http.Response {
			return httpAnswer(200, "application/grpc-web+proto", bytes.NewReader(grpcWebEnd))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeaks(t)
			cc, err := NewClient("example.test:443", WithInsecure(), WithProtocol(c.p), WithHTTPClient(c.answer))
			require.NoError(t, err)
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if !c.stream {
				_, err = echoOn(ctx, cc, "/test.Echo/Echo", "x")
				require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
				return
			}
			cs, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.Int32(1)))
			require.NoError(t, cs.CloseSend())
			err = cs.RecvMsg(new(wrapperspb.StringValue))
			require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
		})
	}
}

// doFunc is an HTTPClient made of a function.
type doFunc func(r *http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// The same race after the caller's own cancel: CANCELED stays CANCELED,
// even when the deadline has passed too by the time the answer is read.
func TestHTTPClientCancelStaysCanceled(t *testing.T) {
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	answer := doFunc(func(*http.Request) (*http.Response, error) {
		cancel()
		time.Sleep(time.Until(dl) + time.Millisecond)
		return httpAnswer(499, "application/json", bytes.NewReader([]byte(`{"code":"canceled","message":"context canceled"}`))), nil
	})
	cc, err := NewClient("example.test:443", WithInsecure(), WithConnect(), WithHTTPClient(answer))
	require.NoError(t, err)
	defer cc.Close()
	_, err = echoOn(ctx, cc, "/test.Echo/Echo", "x")
	require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
}

// A unary call whose context has already ended says why, as a status: the
// deadline passed or the caller canceled, on every protocol.
func TestHTTPClientUnaryWithEndedContext(t *testing.T) {
	never := doFunc(func(r *http.Request) (*http.Response, error) { return nil, context.Cause(r.Context()) })
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for _, p := range []Protocol{ProtocolConnect, ProtocolGRPCWeb} {
		cc, err := NewClient("example.test:443", WithInsecure(), WithProtocol(p), WithHTTPClient(never))
		require.NoError(t, err)
		_, err = echoOn(expired, cc, "/test.Echo/Echo", "x")
		require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v: %v", p, err)
		_, err = echoOn(canceled, cc, "/test.Echo/Echo", "x")
		require.Equal(t, codes.Canceled, status.Code(err), "%v: %v", p, err)
		require.NoError(t, cc.Close())
	}
}
