package rpc

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// clientProtocol is one protocol's client half, for calls over HTTP
// (gRPC-Web and Connect, client_web.go; gRPC has its own, client_stream.go).
// Each lives beside its server half in the protocol's file.
type clientProtocol interface {
	// prepareRequest adds the request's content-type and the protocol's
	// own fields (deadline, compression, version) for a call whose request
	// body is body (nil for a streaming request body), and sets req.body
	// when the protocol sends it otherwise than as it is.
	prepareRequest(hs *httpStream, req *webRequest, body []byte) error
	// readResponse checks the response's status and header and sets hs up
	// to read the body; an error is the call's outcome.
	readResponse(hs *httpStream, resp *webResponse) error
	// endOfStream reads the payload of the envelope that ends the body:
	// the trailer metadata and the outcome (io.EOF for OK).
	endOfStream(hs *httpStream, payload []byte) (metadata.MD, error)
	// bodyEnded is the outcome of a body that ended without that envelope.
	bodyEnded(hs *httpStream) error
}

// httpStream is a call over HTTP (gRPC-Web or Connect). A request whose
// messages are all known when it starts (unary and server-streaming calls)
// goes out as one body, at CloseSend. A client-streaming one starts at
// once: on the client's own sessions its h2 stream opens and SendMsg writes
// to it; through an HTTPClient it streams through a pipe, its exchange on a
// goroutine of its own.
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
	bodyBP *[]byte        // body's pooled buffer while it holds the first message alone
	reqSt  *h2.Stream     // a streaming request's stream, on the client's own sessions
	pw     *io.PipeWriter // a streaming request's body, through an HTTPClient
	sentN  int
	closed atomic.Bool // CloseSend done; read by RecvMsg, which may run beside SendMsg

	req      webRequest
	respOnce sync.Once
	respDone chan struct{} // closed when resp or respErr is set; nil for a call of invoke's, which runs the exchange itself
	resp     webResponse
	hasResp  bool // resp is set: it must be closed
	respErr  error

	er        envelopeReader
	hmu       sync.Mutex // Header may race with RecvMsg
	hdrDone   bool
	hdrErr    error
	header    metadata.MD
	finished  bool
	finalErr  error // io.EOF for OK
	trailer   metadata.MD
	unaryResp bool      // the body is one bare message (Connect unary)
	ub        unaryBody // that message's reader
	// h1resp is the response over WithHTTP1 (resp.h1 points to it): part
	// of the call's state, pooled with a unary call's, where a struct of
	// its own cost an allocation of some 500 bytes per call.
	h1resp http1RespBody

	// Service config (serviceconfig.go), as on the gRPC path: the config in
	// force when the call began, for the retry throttle, and the end of a
	// stream's configured timeout.
	sc        *serviceConfig
	cancelCfg context.CancelFunc
	// done is the picker's, called when the call ends (balancer_conn.go),
	// on the client's own HTTP/2 sessions.
	done        func(balancer.DoneInfo)
	unprocessed bool   // the server never saw the request: safe to send again
	pushbackMs  string // gRPC-Web's grpc-retry-pushback-ms from the trailer envelope
	hasPushback bool
	gotMsg      bool // a response message came: the call is committed

	stats webStats // for the client's StatsHandler (stats_web.go)
}

// webUnaryPool recycles the state of unary calls: as with gRPC's
// (unaryStreamPool), it is never handed to the caller, so nothing can refer
// to it after the call.
var webUnaryPool = sync.Pool{New: func() any { return new(httpStream) }}

// attempt makes one attempt of a unary call over HTTP (unaryAttempt's
// part for gRPC-Web and Connect), sent again while the server never
// processed it; wantPushback reads gRPC-Web's grpc-retry-pushback-ms
// (Connect has no such field).
func (hc *httpCaller) attempt(ctx context.Context, method string, args, reply any, opts []CallOption, wantPushback bool) attempt {
	for n := 0; ; n++ {
		hs := webUnaryPool.Get().(*httpStream)
		err := hc.invoke(hs, ctx, method, args, reply, opts)
		hs.reportEnd(err) // an attempt that failed before its response is reported too
		a := attempt{err: err, committed: hs.committed()}
		if err != nil && wantPushback && hs.proto == grpcWebClientProto {
			a.pushback, a.hasPushback = hs.pushback()
		}
		retry := err != nil && hs.unprocessed && n < hc.cc.cfg.maxRetries && ctx.Err() == nil
		room := hs.keptHeaderRoom()
		*hs = httpStream{}
		hs.req.header = room
		webUnaryPool.Put(hs)
		if !retry {
			return a
		}
	}
}

// maxKeptHeaderRoom bounds the request header list a pooled unary call
// keeps for the next: a call with much metadata does not make every pooled
// call hold a large array.
const maxKeptHeaderRoom = 32

// keptHeaderRoom is the request header list's array, emptied, for the next
// call made with this pooled state: building a fresh one cost an
// allocation (some 500 bytes) per call. It is kept only once a response
// came, so that the request's header went out and no transport still reads
// it (h2's writer encodes it after Request returns; an HTTPClient's
// request is a copy).
func (hs *httpStream) keptHeaderRoom() h2.Header {
	h := hs.req.header
	if !hs.hasResp || cap(h) > maxKeptHeaderRoom {
		return nil
	}
	clear(h) // no caller's metadata outlives its call
	return h[:0]
}

// committed reports whether the server answered the call with a response
// message, after which a retry policy must not send it again. gRPC commits
// a call when response headers come (gRFC A6), but gRPC-Web servers (ours,
// connect-go's) answer an error with a header and the status in the body
// even when gRPC would have sent trailers-only, and a Connect unary error
// is the whole response: over HTTP the first message is what tells a
// committed call apart.
func (hs *httpStream) committed() bool { return hs.gotMsg }

// pushback is a gRPC-Web attempt's grpc-retry-pushback-ms: from its
// trailer envelope, else its trailers-only header or HTTP trailers.
func (hs *httpStream) pushback() (string, bool) {
	if hs.hasPushback {
		return hs.pushbackMs, true
	}
	if !hs.hasResp {
		return "", false
	}
	for _, h := range []h2.Header{hs.resp.header, hs.resp.trailers()} {
		for _, f := range h {
			if f.Name == "grpc-retry-pushback-ms" {
				return f.Value, true
			}
		}
	}
	return "", false
}

// invoke is a unary call's attempt over HTTP, on hs. Its steps run one
// after the other on the caller's goroutine, so the exchange needs no
// channel to publish its response.
func (hc *httpCaller) invoke(hs *httpStream, ctx context.Context, method string, args, reply any, opts []CallOption) error {
	if err := hc.initStream(hs, ctx, unaryDesc, method, opts); err != nil {
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
	if err := hc.cc.awaitConfig(ctx); err != nil {
		return nil, err
	}
	hs := &httpStream{respDone: make(chan struct{})}
	if err := hc.initStream(hs, ctx, desc, method, opts); err != nil {
		return nil, err
	}
	hs.watchCancel()
	return hs, nil
}

// initStream sets up the call hs; its request starts when the caller says
// so (CloseSend), or now for a client-streaming call. The method's service
// config sets the call's defaults, as newClientStream's does for gRPC.
func (hc *httpCaller) initStream(hs *httpStream, ctx context.Context, desc *StreamDesc, method string, opts []CallOption) (err error) {
	hs.hc, hs.desc, hs.method = hc, desc, method
	hs.ci = callInfo{maxRecv: defaultMaxRecvMsgSize, maxSend: defaultMaxSendMsgSize}
	hs.sc = hc.cc.sc.Load()
	mc := hs.sc.methodConfig(method)
	mc.applyTo(&hs.ci)
	if desc != unaryDesc { // invoke bounds a unary call, all its attempts
		if c, cancel := mc.withTimeout(ctx); cancel != nil {
			ctx, hs.cancelCfg = c, cancel
			defer func() {
				if err != nil {
					cancel()
				}
			}()
		}
	}
	for _, o := range hc.cc.cfg.callOpts {
		o.apply(&hs.ci)
	}
	for _, o := range opts {
		o.apply(&hs.ci)
	}
	if c := hs.ci.compressor; c != "" && c != "identity" {
		hs.comp = GetCompressor(c)
		if hs.comp == nil {
			return status.Errorf(codes.Internal, "rpc: compressor %q is not registered", c)
		}
	}
	ce, err := hs.ci.codecEntry()
	if err != nil {
		return err
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
	ctx = hs.tagStats(ctx)
	defer func() {
		if err != nil {
			hs.reportEnd(err) // a call that never started is reported too
		}
	}()
	if _, err := timeoutOf(ctx); err != nil {
		return err
	}
	// A streamed request's exchange ends with the call: its context is
	// canceled once the outcome is known, which also releases the body. A
	// request sent whole needs no context of its own: closing the
	// response's body ends its exchange.
	hs.ctx, hs.cancel = ctx, func() {}
	if t, ok := hc.t.(sessionTransport); ok && desc.ClientStreams {
		// On the client's own sessions the request stream opens now, and
		// SendMsg writes to it: its context's end resets it. A stream that
		// cannot open fails the call at RecvMsg, as the exchange would.
		hs.ctx, hs.cancel = context.WithCancel(ctx)
		if err := hs.request(nil); err != nil {
			hs.cancel()
			return err
		}
		st, err := t.open(hs, true)
		hs.reqSt = st
		if err != nil {
			hs.respOnce.Do(func() {
				hs.respErr = err
				hs.published()
			})
		}
		return nil
	}
	if desc.ClientStreams {
		hs.ctx, hs.cancel = context.WithCancel(ctx)
		pr, pw := io.Pipe()
		hs.pw = pw
		if err := hs.request(nil); err != nil {
			hs.cancel()
			return err
		}
		hs.req.stream = pr
		hs.evRequestSent(nil, nil) // goes as the exchange starts; net/http does not say on which connection
		// net/http reads a request body without watching the request's
		// context: a call blocked on its next request message would not see
		// its deadline pass. Failing the body's reads on the context's end
		// ends the exchange then.
		context.AfterFunc(hs.ctx, func() { _ = pw.CloseWithError(context.Cause(hs.ctx)) })
		go hs.do()
	}
	return nil
}

// request builds the call's request, hs.req, for body (nil: streamed).
func (hs *httpStream) request(body []byte) error {
	hs.req.body = body
	if err := hs.hc.newRequest(hs.ctx, hs.method, &hs.req); err != nil {
		return err
	}
	// The client's and the call's credentials, as newClientStream adds
	// them to a gRPC call's headers.
	h, err := hs.hc.cc.addCredentials(hs.ctx, hs.method, hs.req.header, &hs.ci)
	if err != nil {
		return err
	}
	hs.req.header = h
	if err := hs.proto.prepareRequest(hs, &hs.req, body); err != nil {
		return err
	}
	// A body that is its pooled buffer's whole content can be handed over.
	hs.req.owned = nil
	if bp := hs.bodyBP; bp != nil && len(hs.req.body) > 0 && len(hs.req.body) == len(*bp) && &hs.req.body[0] == &(*bp)[0] {
		hs.req.owned = bp
	}
	return nil
}

// do runs the exchange and publishes its response.
func (hs *httpStream) do() {
	hs.respOnce.Do(func() {
		hs.respErr = hs.hc.t.roundTrip(hs, &hs.resp)
		hs.hasResp = hs.respErr == nil
		hs.published()
	})
	if hs.hc.client == nil {
		// Our own transports are done with the body when roundTrip
		// returns: Request has copied it or framed it when large, or has
		// taken its buffer over (bodyBP is then nil), WithHTTP1 has
		// written it. net/http may read a body after Do returns: that one
		// is left to the GC.
		sendBufs.put(hs.bodyBP)
		hs.body, hs.bodyBP = nil, nil
	}
}

// published tells the call's other goroutines that the exchange's outcome
// is known.
func (hs *httpStream) published() {
	if hs.respDone != nil {
		close(hs.respDone)
	}
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
	hs.sentN++
	if !hs.desc.ClientStreams {
		// The one request message: the request's body is its buffer.
		hs.body, hs.bodyBP = *bp, bp
		if hs.stats.sh != nil {
			hs.stats.outMsg = m // reported when the request goes
		}
		return nil
	}
	defer sendBufs.put(bp)
	var werr error
	switch {
	case hs.reqSt != nil:
		_, werr = hs.reqSt.Write(*bp)
	case hs.pw != nil:
		_, werr = hs.pw.Write(*bp)
	default:
		werr = io.EOF // the stream never opened
	}
	if werr != nil {
		return io.EOF // the exchange ended: RecvMsg says how
	}
	hs.evOutPayload(m, *bp)
	return nil
}

func (hs *httpStream) CloseSend() error {
	if hs.closed.Swap(true) {
		return nil
	}
	if st := hs.reqSt; st != nil {
		if hs.ctx.Err() != nil {
			st.Reset(h2.ErrCodeCancel) // aborted, not ended: see below
			return nil
		}
		_ = st.CloseWrite() // a failure shows in RecvMsg
		return nil
	}
	if hs.desc.ClientStreams && hs.pw == nil {
		return nil // the stream never opened: RecvMsg says why
	}
	if err := hs.ctx.Err(); err != nil && hs.pw != nil {
		// Canceled first: the request must not end cleanly (the server
		// would take it as complete and answer); it is aborted instead.
		return hs.pw.CloseWithError(err)
	}
	if hs.pw != nil {
		return hs.pw.Close()
	}
	if err := hs.request(hs.body); err != nil {
		hs.respOnce.Do(func() {
			hs.respErr = err
			hs.published()
		})
		return nil // RecvMsg reports it
	}
	// The whole request is known: the exchange runs on the caller's
	// goroutine.
	hs.do()
	return nil
}

// response waits for the response header.
func (hs *httpStream) response() (*webResponse, error) {
	if !hs.desc.ClientStreams && !hs.closed.Load() {
		// A server-streaming call's request goes when it is complete.
		_ = hs.CloseSend()
	}
	if hs.respDone == nil {
		// invoke's call: CloseSend has run the exchange.
		return hs.respResult()
	}
	if st := hs.reqSt; st != nil {
		// A request stream of our own: its response is waited for here.
		hs.respOnce.Do(func() {
			hs.respErr = awaitResponse(hs.ctx, st, &hs.resp)
			hs.hasResp = hs.respErr == nil
			hs.published()
		})
		return hs.respResult()
	}
	select {
	case <-hs.respDone:
	case <-hs.ctx.Done():
		// Do returns soon after its context ends; wait for it, so that
		// the response body it may have opened is closed.
		<-hs.respDone
	}
	return hs.respResult()
}

func (hs *httpStream) respResult() (*webResponse, error) {
	if hs.respErr != nil {
		return nil, hs.respErr
	}
	return &hs.resp, nil
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
	if hs.desc.ClientStreams && hs.desc.ServerStreams && !hs.closed.Load() && resp.http1 {
		// A response read before the request ended is full-duplex, which
		// HTTP/1.x cannot carry: fail plainly, as connect-go does, rather
		// than with whatever the broken exchange gives later.
		hs.hdrErr = hs.finish(status.Errorf(codes.Unimplemented,
			"rpc: full-duplex bidi streams require HTTP/2, and %s answered over %s: send every request and CloseSend before receiving",
			hs.method, resp.protoName()))
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
	hs.evInHeader()
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
		payload, wire := (*bp)[envelopeHeaderLen:], len(*bp)
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
		hs.gotMsg = true
		err = hs.codec.Unmarshal(payload, m)
		plain := len(payload)
		recvBufs.put(bp)
		if err != nil {
			return hs.finish(status.Errorf(codes.Internal, "rpc: unmarshaling response: %v", err))
		}
		hs.evInPayload(m, plain, wire)
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
	hs.reportEnd(err)
	hs.cancel()
	if hs.cancelCfg != nil {
		hs.cancelCfg()
	}
	hs.pickDone(err)
	if hs.pw != nil {
		_ = hs.pw.CloseWithError(io.ErrClosedPipe)
		<-hs.respDone // the exchange's goroutine returns once canceled
	}
	if hs.respDone == nil {
		if hs.hasResp {
			hs.resp.close()
		}
		return err
	}
	select {
	case <-hs.respDone:
		if hs.hasResp {
			hs.resp.close()
		}
	default: // the exchange never started, or ends on its own now that ctx is canceled
	}
	return err
}

// pickDone tells the picker that placed the call how it ended, once, and
// the retry throttle when it ended OK (clientStream.pickDone's twin).
func (hs *httpStream) pickDone(err error) {
	if err == io.EOF {
		err = nil
	}
	if err == nil && hs.sc != nil {
		hs.sc.throttle.succeeded()
	}
	if d := hs.done; d != nil {
		hs.done = nil
		d(balancer.DoneInfo{Err: err, Trailer: hs.trailer})
	}
}
