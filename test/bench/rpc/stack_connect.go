package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"

	"connectrpc.com/connect"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// connect-go serves the same service through its generic handlers (no code
// generation) on net/http, which speaks HTTP/2 without TLS (h2c) through
// http.Protocols; its client speaks the gRPC protocol (connect.WithGRPC).

func connectMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(testpb.TestService_UnaryCall_FullMethodName, connect.NewUnaryHandler(testpb.TestService_UnaryCall_FullMethodName,
		func(_ context.Context, req *connect.Request[testpb.SimpleRequest]) (*connect.Response[testpb.SimpleResponse], error) {
			resp, err := unaryCall(req.Msg)
			if err != nil {
				return nil, connect.NewError(connect.CodeInvalidArgument, err)
			}
			return connect.NewResponse(resp), nil
		}))
	mux.Handle(testpb.TestService_StreamingOutputCall_FullMethodName, connect.NewServerStreamHandler(testpb.TestService_StreamingOutputCall_FullMethodName,
		func(ctx context.Context, req *connect.Request[testpb.StreamingOutputCallRequest], ss *connect.ServerStream[testpb.StreamingOutputCallResponse]) error {
			return streamOut(ctx, req.Msg, ss.Send)
		}))
	mux.Handle(testpb.TestService_StreamingInputCall_FullMethodName, connect.NewClientStreamHandler(testpb.TestService_StreamingInputCall_FullMethodName,
		func(_ context.Context, cs *connect.ClientStream[testpb.StreamingInputCallRequest]) (*connect.Response[testpb.StreamingInputCallResponse], error) {
			resp, err := streamIn(func() (*testpb.StreamingInputCallRequest, error) {
				if cs.Receive() {
					return cs.Msg(), nil
				}
				if err := cs.Err(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			})
			if err != nil {
				return nil, err
			}
			return connect.NewResponse(resp), nil
		}))
	mux.Handle(testpb.TestService_FullDuplexCall_FullMethodName, connect.NewBidiStreamHandler(testpb.TestService_FullDuplexCall_FullMethodName,
		func(_ context.Context, bs *connect.BidiStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
			return duplex(bs.Receive, bs.Send)
		}))
	return mux
}

// protocols is HTTP/2 only: over TLS when tc is set, else cleartext (h2c
// with prior knowledge, as gRPC clients speak it).
func protocols(tc *tls.Config) *http.Protocols {
	p := new(http.Protocols)
	if tc != nil {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return p
}

type connectServer struct {
	srv  *http.Server
	addr string
}

func (s *connectServer) Addr() string { return s.addr }
func (s *connectServer) Stop()        { _ = s.srv.Close() }

func serveConnect(tc *tls.Config) (server, error) {
	tc = cloneTLS(tc) // net/http adds to NextProtos in place
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:   connectMux(),
		Protocols: protocols(tc),
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: maxStreams},
		TLSConfig: tc,
	}
	go func() {
		if tc != nil {
			_ = srv.ServeTLS(l, "", "")
			return
		}
		_ = srv.Serve(l)
	}()
	return &connectServer{srv: srv, addr: l.Addr().String()}, nil
}

type connectClient struct {
	tr     *http.Transport
	unary  *connect.Client[testpb.SimpleRequest, testpb.SimpleResponse]
	out    *connect.Client[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]
	in     *connect.Client[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]
	duplex *connect.Client[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]
}

// dialConnect makes a client with its own transport, so its own connection.
func dialConnect(addr string, tc *tls.Config) (client, error) {
	tc = cloneTLS(tc)
	tr := &http.Transport{Protocols: protocols(tc), TLSClientConfig: tc}
	hc := &http.Client{Transport: tr}
	base := "http://" + addr
	if tc != nil {
		base = "https://" + addr
	}
	return &connectClient{
		tr:     tr,
		unary:  connect.NewClient[testpb.SimpleRequest, testpb.SimpleResponse](hc, base+testpb.TestService_UnaryCall_FullMethodName, connect.WithGRPC()),
		out:    connect.NewClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse](hc, base+testpb.TestService_StreamingOutputCall_FullMethodName, connect.WithGRPC()),
		in:     connect.NewClient[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse](hc, base+testpb.TestService_StreamingInputCall_FullMethodName, connect.WithGRPC()),
		duplex: connect.NewClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse](hc, base+testpb.TestService_FullDuplexCall_FullMethodName, connect.WithGRPC()),
	}, nil
}

func (c *connectClient) Unary(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	resp, err := c.unary.CallUnary(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (c *connectClient) StreamOut(ctx context.Context, req *testpb.StreamingOutputCallRequest) (func() (*testpb.StreamingOutputCallResponse, error), error) {
	s, err := c.out.CallServerStream(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return func() (*testpb.StreamingOutputCallResponse, error) {
		if s.Receive() {
			return s.Msg(), nil
		}
		err := s.Err()
		_ = s.Close()
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}, nil
}

type connectUpload struct {
	s *connect.ClientStreamForClient[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]
}

func (u connectUpload) Send(m *testpb.StreamingInputCallRequest) error { return u.s.Send(m) }

func (u connectUpload) CloseAndRecv() (*testpb.StreamingInputCallResponse, error) {
	resp, err := u.s.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (c *connectClient) StreamIn(ctx context.Context) (upload, error) {
	return connectUpload{c.in.CallClientStream(ctx)}, nil
}

type connectBidi struct {
	s *connect.BidiStreamForClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]
}

func (b connectBidi) Send(m *testpb.StreamingOutputCallRequest) error { return b.s.Send(m) }
func (b connectBidi) CloseSend() error                                { return b.s.CloseRequest() }

// Recv releases the response body once the stream has ended, as connect-go
// asks of its callers.
func (b connectBidi) Recv() (*testpb.StreamingOutputCallResponse, error) {
	m, err := b.s.Receive()
	if errors.Is(err, io.EOF) {
		_ = b.s.CloseResponse()
	}
	return m, err
}

func (c *connectClient) Duplex(ctx context.Context) (bidi, error) {
	return connectBidi{c.duplex.CallBidiStream(ctx)}, nil
}

func (c *connectClient) Close() { c.tr.CloseIdleConnections() }

func cloneTLS(tc *tls.Config) *tls.Config {
	if tc == nil {
		return nil
	}
	return tc.Clone()
}
