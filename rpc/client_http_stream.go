package rpc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// clientProtocol is one protocol's client half, for calls over an
// HTTPClient (gRPC-Web and Connect; gRPC runs on the ClientConn's own
// sessions, client_stream.go). Each lives beside its server half in the
// protocol's file.
type clientProtocol interface {
	// prepareRequest fills in the request's method, content-type and the
	// protocol's own fields (deadline, compression, version) for a call
	// whose request body is body (nil for a streaming request body).
	prepareRequest(hs *httpStream, req *http.Request, body []byte) error
	// readResponse checks the response's status and header and sets hs up
	// to read the body; an error is the call's outcome.
	readResponse(hs *httpStream, resp *http.Response) error
	// endOfStream reads the payload of the envelope that ends the body:
	// the trailer metadata and the outcome (io.EOF for OK).
	endOfStream(hs *httpStream, payload []byte) (metadata.MD, error)
	// bodyEnded is the outcome of a body that ended without that envelope.
	bodyEnded(hs *httpStream) error
}

// httpStream is a call over an HTTPClient. A request whose messages are all
// known when it starts (unary and server-streaming calls) goes out as one
// body, at CloseSend; a client-streaming one streams through a pipe, its
// exchange started at once on a goroutine of its own.
type httpStream struct {
	hc     *httpCaller
	ctx    context.Context
	cancel context.CancelFunc // ends the HTTP exchange
	desc   *StreamDesc
	method string
	ci     callInfo
	codec  Codec
	codecN string // the codec's name in content-types
	comp   Compressor
	proto  clientProtocol
	get    bool // a Connect GET

	body   []byte         // the request's messages, enveloped, until CloseSend
	pw     *io.PipeWriter // a streaming request's body
	sentN  int
	closed atomic.Bool // CloseSend done; read by RecvMsg, which may run beside SendMsg

	respOnce sync.Once
	respDone chan struct{} // closed when resp or respErr is set
	resp     *http.Response
	respErr  error

	er        envelopeReader
	hmu       sync.Mutex // Header may race with RecvMsg
	hdrDone   bool
	hdrErr    error
	header    metadata.MD
	finished  bool
	finalErr  error // io.EOF for OK
	trailer   metadata.MD
	unaryResp bool // the body is one bare message (Connect unary)
}

// invoke is a unary call over HTTP.
func (hc *httpCaller) invoke(ctx context.Context, method string, args, reply any, opts []CallOption) error {
	hs, err := hc.newStream(ctx, unaryDesc, method, opts)
	if err != nil {
		return err
	}
	if err := hs.SendMsg(args); err != nil {
		if err == io.EOF {
			// The context ended before the request went: say why, as RecvMsg
			// would (io.EOF is only a stream's signal to call it).
			err = status.FromContextError(hs.ctx.Err()).Err()
		}
		return hs.finish(err)
	}
	if err := hs.CloseSend(); err != nil {
		return err
	}
	if err := hs.RecvMsg(reply); err != nil {
		if err == io.EOF {
			return errNoResponse
		}
		return err
	}
	if err := hs.RecvMsg(reply); err != io.EOF {
		if err == nil {
			err = hs.finish(errSecondResponse)
		}
		return err
	}
	return nil
}

func (hc *httpCaller) newStream(ctx context.Context, desc *StreamDesc, method string, opts []CallOption) (*httpStream, error) {
	hs := &httpStream{hc: hc, desc: desc, method: method, respDone: make(chan struct{})}
	hs.ci = callInfo{maxRecv: defaultMaxRecvMsgSize, maxSend: defaultMaxSendMsgSize}
	for _, o := range hc.cc.cfg.callOpts {
		o.apply(&hs.ci)
	}
	for _, o := range opts {
		o.apply(&hs.ci)
	}
	if c := hs.ci.compressor; c != "" && c != "identity" {
		hs.comp = GetCompressor(c)
		if hs.comp == nil {
			return nil, status.Errorf(codes.Internal, "rpc: compressor %q is not registered", c)
		}
	}
	ce, err := hs.ci.codecEntry()
	if err != nil {
		return nil, err
	}
	hs.codec, hs.codecN = ce.codec, codecName(ce)
	unary := !desc.ClientStreams && !desc.ServerStreams
	switch hc.cc.cfg.protocol {
	case ProtocolGRPCWeb:
		hs.proto = grpcWebClientProto
	case ProtocolConnect:
		hs.proto = connectStreamClientProto
		if unary {
			hs.proto = connectUnaryClientProto
			hs.get = hc.cc.cfg.httpGet && hs.ci.idempotency == NoSideEffects
		}
	}
	if _, err := timeoutOf(ctx); err != nil {
		return nil, err
	}
	// A streamed request's exchange ends with the call: its context is
	// canceled once the outcome is known, which also releases the body. A
	// request sent whole needs no context of its own: closing the
	// response's body ends its exchange.
	hs.ctx, hs.cancel = ctx, func() {}
	if desc.ClientStreams {
		hs.ctx, hs.cancel = context.WithCancel(ctx)
		pr, pw := io.Pipe()
		hs.pw = pw
		req, err := hs.request(nil)
		if err != nil {
			hs.cancel()
			return nil, err
		}
		req.Body = pr
		// net/http reads a request body without watching the request's
		// context: a call blocked on its next request message would not see
		// its deadline pass. Failing the body's reads on the context's end
		// ends the exchange then.
		context.AfterFunc(hs.ctx, func() { _ = pw.CloseWithError(context.Cause(hs.ctx)) })
		go hs.do(req)
	}
	return hs, nil
}

// request builds the call's request for body (nil: streamed).
func (hs *httpStream) request(body []byte) (*http.Request, error) {
	req, err := hs.hc.newRequest(hs.ctx, http.MethodPost, hs.method)
	if err != nil {
		return nil, err
	}
	if err := hs.proto.prepareRequest(hs, req, body); err != nil {
		return nil, err
	}
	return req, nil
}

// do runs the exchange and publishes its response.
func (hs *httpStream) do(req *http.Request) {
	resp, err := hs.hc.client.Do(req)
	hs.respOnce.Do(func() {
		hs.resp, hs.respErr = resp, err
		close(hs.respDone)
	})
}

func (hs *httpStream) Context() context.Context { return hs.ctx }

func (hs *httpStream) SendMsg(m any) error {
	if hs.closed.Load() {
		return status.Error(codes.Internal, "rpc: SendMsg after CloseSend")
	}
	if !hs.desc.ClientStreams && hs.sentN > 0 {
		return status.Error(codes.Internal, "rpc: more than one request message on a call without client streaming")
	}
	if hs.ctx.Err() != nil {
		return io.EOF // RecvMsg says how the call ended
	}
	bp, err := encodeMessage(hs.codec, hs.comp, m, hs.ci.maxSend, 0)
	if err != nil {
		return err
	}
	defer sendBufs.put(bp)
	hs.sentN++
	if hs.pw == nil {
		hs.body = append(hs.body, *bp...)
		return nil
	}
	if _, err := hs.pw.Write(*bp); err != nil {
		return io.EOF // the exchange ended: RecvMsg says how
	}
	return nil
}

func (hs *httpStream) CloseSend() error {
	if hs.closed.Swap(true) {
		return nil
	}
	if err := hs.ctx.Err(); err != nil && hs.pw != nil {
		// Canceled first: the request must not end cleanly (the server
		// would take it as complete and answer); it is aborted instead.
		return hs.pw.CloseWithError(err)
	}
	if hs.pw != nil {
		return hs.pw.Close()
	}
	req, err := hs.request(hs.body)
	if err != nil {
		hs.respOnce.Do(func() {
			hs.respErr = err
			close(hs.respDone)
		})
		return nil // RecvMsg reports it
	}
	if !hs.get {
		req.Body = newRequestBody(hs.body)
		req.ContentLength = int64(len(hs.body))
		b := hs.body
		req.GetBody = func() (io.ReadCloser, error) { return newRequestBody(b), nil }
	}
	// The whole request is known: the exchange runs on the caller's
	// goroutine, when it first asks for the response.
	hs.respOnce.Do(func() {
		hs.resp, hs.respErr = hs.hc.client.Do(req)
		close(hs.respDone)
	})
	return nil
}

// response waits for the response header.
func (hs *httpStream) response() (*http.Response, error) {
	if !hs.desc.ClientStreams && !hs.closed.Load() {
		// A server-streaming call's request goes when it is complete.
		_ = hs.CloseSend()
	}
	select {
	case <-hs.respDone:
	case <-hs.ctx.Done():
		// Do returns soon after its context ends; wait for it, so that
		// the response body it may have opened is closed.
		<-hs.respDone
	}
	return hs.resp, hs.respErr
}

func (hs *httpStream) Header() (metadata.MD, error) {
	if err := hs.waitHeader(); err != nil {
		return nil, err
	}
	return nonNilMD(hs.header.Copy()), nil
}

func (hs *httpStream) Trailer() metadata.MD { return nonNilMD(hs.trailer.Copy()) }

// waitHeader waits for the response and lets the protocol read its header.
func (hs *httpStream) waitHeader() error {
	hs.hmu.Lock()
	defer hs.hmu.Unlock()
	if hs.hdrDone {
		return hs.hdrErr
	}
	hs.hdrDone = true
	resp, err := hs.response()
	if err != nil {
		hs.hdrErr = hs.finish(httpError(hs.ctx, err))
		return hs.hdrErr
	}
	if hs.desc.ClientStreams && hs.desc.ServerStreams && !hs.closed.Load() && resp.ProtoMajor < 2 {
		// A response read before the request ended is full-duplex, which
		// HTTP/1.x cannot carry: fail plainly, as connect-go does, rather
		// than with whatever the broken exchange gives later.
		hs.hdrErr = hs.finish(status.Errorf(codes.Unimplemented,
			"rpc: full-duplex bidi streams require HTTP/2, and %s answered over HTTP/%d.%d: send every request and CloseSend before receiving",
			hs.method, resp.ProtoMajor, resp.ProtoMinor))
		return hs.hdrErr
	}
	hs.er.maxSize = hs.ci.maxRecv
	if err := hs.proto.readResponse(hs, resp); err != nil {
		hs.hdrErr = hs.finish(err)
		return hs.hdrErr
	}
	if hs.ci.header != nil {
		*hs.ci.header = nonNilMD(hs.header)
	}
	return nil
}

func (hs *httpStream) RecvMsg(m any) error {
	if err := hs.waitHeader(); err != nil {
		return err
	}
	if hs.finished {
		return hs.finalErr
	}
	if err := hs.ctx.Err(); err != nil {
		// As on the gRPC path: once the caller canceled, the next step sees
		// it, however fast the server would have answered.
		return hs.finish(status.FromContextError(err).Err())
	}
	for {
		bp, flag, err := hs.er.read()
		if err == io.EOF {
			if hs.unaryResp {
				return hs.finish(io.EOF)
			}
			return hs.finish(hs.proto.bodyEnded(hs))
		}
		if err != nil {
			if _, ok := status.FromError(err); ok && hs.ctx.Err() == nil {
				return hs.finish(err)
			}
			return hs.finish(httpError(hs.ctx, err))
		}
		payload := (*bp)[envelopeHeaderLen:]
		if flag&1 != 0 {
			if payload, bp, err = hs.er.decompress(payload, bp); err != nil {
				return hs.finish(err)
			}
		}
		if flag&^1 != 0 {
			md, end := hs.proto.endOfStream(hs, payload)
			recvBufs.put(bp)
			hs.trailer = md
			if extra, _, err := hs.er.read(); err != io.EOF {
				if err == nil {
					recvBufs.put(extra)
				}
				end = status.Error(codes.Internal, "rpc: data after the end of the stream")
			}
			return hs.finish(end)
		}
		err = hs.codec.Unmarshal(payload, m)
		recvBufs.put(bp)
		if err != nil {
			return hs.finish(status.Errorf(codes.Internal, "rpc: unmarshaling response: %v", err))
		}
		return nil
	}
}

// finish records the call's outcome once and ends the exchange.
func (hs *httpStream) finish(err error) error {
	if hs.finished {
		return hs.finalErr
	}
	hs.finished = true
	// A Connect unary error comes in the response's header, and the server
	// may have answered CANCELED to our giving up at the deadline.
	err = deadlineOverCanceled(hs.ctx, err)
	hs.finalErr = err
	if hs.ci.header != nil && *hs.ci.header == nil {
		*hs.ci.header = nonNilMD(hs.header) // a call that failed may still have had a header
	}
	if hs.ci.trailer != nil {
		*hs.ci.trailer = nonNilMD(hs.trailer)
	}
	hs.cancel()
	if hs.pw != nil {
		_ = hs.pw.CloseWithError(io.ErrClosedPipe)
		<-hs.respDone // the exchange's goroutine returns once canceled
	}
	select {
	case <-hs.respDone:
		if hs.resp != nil {
			_ = hs.resp.Body.Close()
		}
	default: // the exchange never started, or ends on its own now that ctx is canceled
	}
	return err
}

// requestBody is a request body known whole. Our own transport
// (sessionTransport) sends its bytes with the request's headers, without
// reading them through a copy.
type requestBody struct {
	bytes.Reader
	b []byte
}

func newRequestBody(b []byte) *requestBody {
	rb := &requestBody{b: b}
	rb.Reset(b)
	return rb
}

func (*requestBody) Close() error { return nil }
