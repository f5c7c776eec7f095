package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// serverStream is all per-RPC state on the server, in one struct. It is not
// pooled: the call's context refers to it and a handler may keep that
// context past the call.
type serverStream struct {
	srv    *Server
	tr     serverTransport // where the request comes from and the response goes
	ctx    context.Context // &cctx
	cctx   callCtx
	cancel context.CancelFunc
	req    h2.Header // request headers, for building md on demand
	mdOnce sync.Once
	md     metadata.MD // incoming; built on first lookup, since most handlers never ask
	mi     *methodInfo
	conn   *connState // nil if the session was not registered (server closing)
	er     envelopeReader
	comp   Compressor  // for responses: the client's own encoding
	codec  *codecEntry // chosen by the request's content-type; the response names it too

	headerSent  bool
	ended       bool
	badEncoding bool // the client compressed with something we lack
	notFound    bool // no method at the path
	proto       protocolID
	refuseHTTP  uint16 // a Connect request refused with a bare HTTP status (415, 405) rather than an error body
	header      metadata.MD
	trailer     metadata.MD
	recvd       int
	sentN       int
	mdErr       error     // metadata the handler set that cannot be sent: the call fails with it
	last        *[]byte   // a unary response, encoded: it leaves with the status (endWith)
	ub          unaryBody // a Connect unary request's body, read through er (protocol_connect_unary.go)
}

// callCtx is the handler's context. It lives inside serverStream and answers
// the incoming-metadata and stream lookups itself, saving two context layers
// (and their allocations) per call.
type callCtx struct {
	context.Context
	ss *serverStream
}

func (c *callCtx) Value(key any) any {
	switch {
	case key == serverStreamKey{}:
		return c.ss
	case metadata.IsIncomingKey(key):
		c.ss.mdOnce.Do(c.ss.buildMD)
		return c.ss.md
	}
	return c.Context.Value(key)
}

func noCancel() {}

// setup builds the call context (deadline, metadata) and finds the method.
func (ss *serverStream) setup(req h2.Header) error {
	ss.cancel = noCancel
	// The transport's context, canceled on reset, session loss or handler
	// return, is taken once readHeader has seen the timeout (setTimeout).
	ss.cctx = callCtx{ss: ss}
	ss.ctx = &ss.cctx
	ss.req = req
	path := methodPath(req)
	err := ss.protocol().readHeader(ss, req)
	if ss.cctx.Context == nil {
		ss.cctx.Context = ss.tr.Context()
	}
	if err != nil {
		return err
	}
	mi, svcKnown := ss.srv.lookup(path)
	if mi == nil {
		ss.notFound = true
		if svcKnown {
			return status.Errorf(codes.Unimplemented, "unknown method %s", path)
		}
		return status.Errorf(codes.Unimplemented, "unknown service %s", serviceOf(path))
	}
	ss.mi = mi
	if c, ok := ss.protocol().(methodChecker); ok {
		return c.checkMethod(ss, mi)
	}
	return nil
}

// methodChecker is a protocol with rules about which methods it may call
// (Connect: unary content types for unary methods, GET only for methods
// without side effects).
type methodChecker interface {
	checkMethod(ss *serverStream, mi *methodInfo) error
}

// protocol is the call's protocol.
func (ss *serverStream) protocol() serverProtocol { return protocols[ss.proto] }

// methodPath is the request's ":path" without its query: the method's
// full name.
func methodPath(req h2.Header) string {
	path := req.Get(":path")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

// h2Stream is the call's stream when it runs on our engine, else nil.
func (ss *serverStream) h2Stream() *h2.Stream {
	if t, ok := ss.tr.(h2Transport); ok {
		return t.Stream
	}
	return nil
}

// query is the request's query string (a Connect GET's).
func (ss *serverStream) query() string {
	_, q, _ := strings.Cut(ss.req.Get(":path"), "?")
	return q
}

// httpRequest is the net/http request of a call served by ServeHTTP, or nil.
func (ss *serverStream) httpRequest() *http.Request {
	switch t := ss.tr.(type) {
	case *httpTransport:
		return t.r
	case *base64Transport:
		if ht, ok := t.serverTransport.(*httpTransport); ok {
			return ht.r
		}
	}
	return nil
}

// setTimeout bounds the call by the timeout the client sent. On our engine
// the stream's context is made with the deadline, one context instead of
// two (h2.Stream.ContextWithDeadline).
func (ss *serverStream) setTimeout(d time.Duration) {
	if ss.cctx.Context == nil {
		if st := ss.h2Stream(); st != nil {
			ctx, withDeadline := st.ContextWithDeadline(time.Now().Add(d))
			ss.cctx.Context = ctx
			if withDeadline {
				return
			}
		} else {
			ss.cctx.Context = ss.tr.Context()
		}
	}
	ss.cctx.Context, ss.cancel = context.WithTimeout(ss.cctx.Context, d)
	tr := ss.tr
	if b, ok := tr.(*base64Transport); ok {
		tr = b.serverTransport
	}
	if t, ok := tr.(*http1Call); ok {
		// Its body reads wait on the connection, not on the context.
		t.deadline = time.Now().Add(d)
	}
}

// setEncoding sets the compression the request's messages use; the
// response uses it too unless the protocol negotiates its own.
func (ss *serverStream) setEncoding(header, enc string) error {
	if enc == "" || enc == "identity" {
		return nil
	}
	c := GetCompressor(enc)
	if c == nil {
		ss.badEncoding = true
		return status.Errorf(codes.Unimplemented, "rpc: %s %q is not supported", header, enc)
	}
	ss.er.decomp = c
	ss.comp = c
	return nil
}

// checkBin checks a binary metadata value now, so that a malformed one
// fails the call up front rather than surprise the handler.
func checkBin(f h2.HeaderField) error {
	if metadata.IsBinKey(f.Name) {
		if _, err := metadata.DecodeBin(f.Value); err != nil {
			return status.Errorf(codes.Internal, "rpc: malformed binary metadata %q: %v", f.Name, err)
		}
	}
	return nil
}

// buildMD turns the request headers into incoming metadata: everything but
// pseudo-headers and the protocol's own fields, -bin values decoded.
func (ss *serverStream) buildMD() {
	md := make(metadata.MD, len(ss.req))
	for _, f := range ss.req {
		name := f.Name
		if name == "" || name[0] == ':' {
			continue
		}
		if ss.protocol().isProtocolHeader(name) {
			continue
		}
		v := f.Value
		if metadata.IsBinKey(name) {
			v, _ = metadata.DecodeBin(v) // validated in setup
		}
		md[name] = append(md[name], v)
	}
	ss.md = md
}

func serviceOf(path string) string {
	p := strings.TrimPrefix(path, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

type serverStreamKey struct{}

// run calls the handler and the interceptors around it, turning a panic
// into a logged INTERNAL for this call only (server_panic.go).
func (ss *serverStream) run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = ss.srv.recovered(ss.ctx, ss.mi.full, r)
		}
	}()
	mi := ss.mi
	if mi.unary != nil {
		resp, herr := mi.unary.Handler(mi.srv.impl, ss.ctx, ss.decodeUnary, ss.srv.unaryInt)
		if herr != nil {
			return herr
		}
		if ss.recvd == 0 {
			// The handler never read its request (a custom handler): it
			// still must have arrived, or the call is malformed.
			if err := ss.decodeUnary(nil); err != nil {
				return err
			}
		}
		return ss.sendLast(resp)
	}
	if ss.srv.streamInt != nil {
		return ss.srv.streamInt(mi.srv.impl, ss, mi.sinfo, mi.stream.Handler)
	}
	return mi.stream.Handler(mi.srv.impl, ss)
}

// decodeUnary reads the one request message of a unary call and checks that
// no second one follows.
func (ss *serverStream) decodeUnary(m any) error {
	if ss.recvd > 0 {
		return status.Error(codes.Internal, "rpc: unary request decoded twice")
	}
	msg, mb, err := ss.er.next()
	if err == io.EOF {
		// Unimplemented, as grpc-go and connect-go answer a call whose
		// shape does not match the method's.
		return status.Error(codes.Unimplemented, "rpc: call without a request message on a method that takes one")
	}
	if err != nil {
		return ss.recvError(err)
	}
	ss.recvd++
	if m != nil {
		err = ss.codec.codec.Unmarshal(msg, m)
	}
	mb.release()
	if err != nil {
		return status.Errorf(codes.Internal, "rpc: unmarshaling request: %v", err)
	}
	ss.evInPayload(m, len(msg))
	switch err := ss.er.expectEnd(); err {
	case io.EOF:
		return nil
	case errSecondMessage:
		return status.Error(codes.Unimplemented, "rpc: more than one request message on a method that takes one")
	default:
		return ss.recvError(err)
	}
}

// recvError reports a read failure; when the call's context ended (deadline,
// client reset) that is the better explanation.
func (ss *serverStream) recvError(err error) error {
	if cerr := ss.ctx.Err(); cerr != nil {
		return status.FromContextError(cerr).Err()
	}
	return toStatusError(err)
}

func (ss *serverStream) Context() context.Context { return ss.ctx }

func (ss *serverStream) SetHeader(md metadata.MD) error {
	if ss.headerSent || ss.ended {
		return status.Error(codes.Internal, "rpc: SetHeader after the header was sent")
	}
	if err := md.Validate(); err != nil {
		return ss.badMetadata("header", err)
	}
	ss.header = joinMD(ss.header, md)
	return nil
}

func (ss *serverStream) SendHeader(md metadata.MD) error {
	if err := ss.SetHeader(md); err != nil {
		return err
	}
	return ss.writeHeader()
}

func (ss *serverStream) SetTrailer(md metadata.MD) {
	if ss.ended {
		return
	}
	if err := md.Validate(); err != nil {
		_ = ss.badMetadata("trailer", err)
		return
	}
	ss.trailer = joinMD(ss.trailer, md)
}

// badMetadata records metadata the handler set that cannot be sent (it is
// dropped): the call fails with INTERNAL naming the key even when the
// handler ignores the error, and finish logs it, since a client cannot tell
// a handler's bug from ours.
func (ss *serverStream) badMetadata(where string, err error) error {
	e := status.Errorf(codes.Internal, "rpc: invalid %s metadata: %v", where, err)
	if ss.mdErr == nil {
		ss.mdErr = e
	}
	return e
}

func joinMD(dst, src metadata.MD) metadata.MD {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(metadata.MD, len(src))
	}
	for k, v := range src {
		dst[k] = append(dst[k], v...)
	}
	return dst
}

func (ss *serverStream) writeHeader() error {
	if ss.headerSent {
		return nil
	}
	return ss.protocol().sendHeader(ss)
}

// respond sends the response header hdr and marks it sent.
func (ss *serverStream) respond(hdr h2.Header) error {
	ss.headerGoesOut()
	ss.markSent()
	if err := ss.tr.respond(hdr, h2.RespondOptions{}); err != nil {
		return ss.recvError(err)
	}
	return nil
}

// headerGoesOut marks the response header sent (by whichever protocol
// sends it) and reports it to the stats handler's events.
func (ss *serverStream) headerGoesOut() {
	ss.headerSent = true
	ss.evOutHeader()
}

// markSent tells the ping policy that this connection just carried output.
func (ss *serverStream) markSent() {
	if ss.conn != nil {
		ss.conn.dataSent.Store(true)
	}
}

// appendMD adds metadata as header fields, base64-encoding -bin values.
func appendMD(h h2.Header, md metadata.MD) h2.Header {
	for k, vs := range md {
		if reservedHeader(k) {
			continue
		}
		for _, v := range vs {
			if metadata.IsBinKey(k) {
				v = metadata.EncodeBin(v)
			}
			h = append(h, h2.HeaderField{Name: k, Value: v})
		}
	}
	return h
}

// encodeOut encodes a response message, refusing once the call has ended.
func (ss *serverStream) encodeOut(m any) (*[]byte, error) {
	if ss.ended {
		return nil, status.Error(codes.Internal, "rpc: SendMsg after the call ended")
	}
	return encodeMessage(ss.codec.codec, ss.comp, m, ss.srv.opts.maxSend, ss.srv.opts.compressMin)
}

func (ss *serverStream) SendMsg(m any) error {
	bp, err := ss.encodeOut(m)
	if err != nil {
		return err
	}
	if err := ss.writeHeader(); err != nil {
		sendBufs.put(bp)
		return err
	}
	ss.markSent()
	ss.sentN++
	ss.evOutPayload(m, len(*bp))
	if t, ok := ss.tr.(h2Transport); ok {
		// Our own engine sends a large message from bp and gives it back
		// once written, while the handler builds its next one.
		_, err = t.WriteOwned(bp, releaseSendBuf)
	} else {
		_, err = ss.tr.Write(*bp)
		sendBufs.put(bp)
	}
	if err != nil {
		return ss.recvError(err)
	}
	return nil
}

// sendLast is SendMsg for a unary response: the message waits for the
// status, and the header with them (endWith), so that the whole response
// is one call into h2 instead of three.
func (ss *serverStream) sendLast(m any) error {
	bp, err := ss.encodeOut(m)
	if err != nil {
		return err
	}
	ss.markSent()
	ss.sentN++
	ss.evOutPayload(m, len(*bp))
	ss.last = bp
	return nil
}

func (ss *serverStream) RecvMsg(m any) error {
	if ss.mi.sinfo != nil && !ss.mi.sinfo.IsClientStream {
		// A server stream takes one request, like a unary call: none, or a
		// second, fails the call; a handler asking again sees the end.
		if ss.recvd > 0 {
			return io.EOF
		}
		return ss.decodeUnary(m)
	}
	msg, mb, err := ss.er.next()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return ss.recvError(err)
	}
	ss.recvd++
	err = ss.codec.codec.Unmarshal(msg, m)
	mb.release()
	if err != nil {
		return status.Errorf(codes.Internal, "rpc: unmarshaling request: %v", err)
	}
	ss.evInPayload(m, len(msg))
	return nil
}

// finish sends the status, in the protocol's way, and returns its code.
func (ss *serverStream) finish(err error) codes.Code {
	ss.ended = true
	ss.markSent()
	if ss.mdErr != nil {
		err = ss.mdErr
		ss.srv.logger().LogAttrs(ss.ctx, slog.LevelError, "rpc: handler set metadata that cannot be sent",
			slog.String("rpc.method", ss.mi.full), slog.String("error", err.Error()))
		if ss.last != nil {
			// The unary response is not sent with a failed status.
			sendBufs.put(ss.last)
			ss.last = nil
		}
	}
	st, ok := status.FromError(err)
	if !ok && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		st = status.FromContextError(err)
	} // any other plain error is UNKNOWN with its text, as FromError made it
	ss.protocol().finish(ss, st)
	return st.Code()
}

// serverStreamFromContext returns the stream of the call ctx belongs to, so
// unary handlers can set header and trailer metadata.
func serverStreamFromContext(ctx context.Context) *serverStream {
	ss, _ := ctx.Value(serverStreamKey{}).(*serverStream)
	return ss
}

// SetHeader sets header metadata from a unary handler (or any handler
// holding only the context); it is sent with the response.
func SetHeader(ctx context.Context, md metadata.MD) error {
	ss := serverStreamFromContext(ctx)
	if ss == nil {
		return status.Error(codes.Internal, "rpc: SetHeader: not a server call context")
	}
	return ss.SetHeader(md)
}

// SendHeader sends header metadata now, from a handler's context.
func SendHeader(ctx context.Context, md metadata.MD) error {
	ss := serverStreamFromContext(ctx)
	if ss == nil {
		return status.Error(codes.Internal, "rpc: SendHeader: not a server call context")
	}
	return ss.SendHeader(md)
}

// SetTrailer sets trailer metadata from a handler's context.
func SetTrailer(ctx context.Context, md metadata.MD) error {
	ss := serverStreamFromContext(ctx)
	if ss == nil {
		return status.Error(codes.Internal, "rpc: SetTrailer: not a server call context")
	}
	ss.SetTrailer(md)
	return nil
}

// Method returns the full method name ("/pkg.Service/Method") of the server
// call ctx belongs to.
func Method(ctx context.Context) (string, bool) {
	ss := serverStreamFromContext(ctx)
	if ss == nil || ss.mi == nil {
		return "", false
	}
	return ss.mi.full, true
}
