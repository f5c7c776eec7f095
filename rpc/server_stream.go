package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
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
	st     *h2.Stream
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
	header      metadata.MD
	trailer     metadata.MD
	recvd       int
	sentN       int
	badEncoding bool    // the client compressed with something we lack
	mdErr       error   // metadata the handler set that cannot be sent: the call fails with it
	last        *[]byte // a unary response, encoded: it leaves with the status (endWith)
}

// Response headers that every call repeats are shared, read-only slices.
var (
	hdrOK        = h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
	trailerOK    = h2.Header{{Name: "grpc-status", Value: "0"}}
	statusDigits = func() (out [17]string) {
		for i := range out {
			out[i] = strconv.Itoa(i)
		}
		return
	}()
)

func codeString(c codes.Code) string {
	if int(c) < len(statusDigits) {
		return statusDigits[c]
	}
	return strconv.FormatUint(uint64(c), 10)
}

// serveStream is the h2 handler: one call per HTTP/2 stream.
func (s *Server) serveStream(st *h2.Stream) {
	req := st.Header()
	if req.Get(":method") != "POST" {
		_ = st.Respond(h2.Header{{Name: ":status", Value: "405"}, {Name: "allow", Value: "POST"}}, &h2.RespondOptions{EndStream: true})
		return
	}
	ce := codecForContentType(req.Get("content-type"))
	if ce == nil {
		// Not gRPC, or a content-subtype we have no codec for (decoding it
		// as protobuf would be garbage): the spec asks for 415 so the client
		// sees a plain HTTP error. grpc-go still falls back to protobuf for
		// an unknown subtype, with a warning that this will fail one day.
		_ = st.Respond(h2.Header{{Name: ":status", Value: "415"}}, &h2.RespondOptions{EndStream: true})
		return
	}
	ss := &serverStream{srv: s, st: st, codec: ce}
	ss.er = envelopeReader{r: st, maxSize: s.opts.maxRecv}
	cs := s.connState(st.Session())
	ss.conn = cs
	if cs != nil {
		cs.streamStarted()
		defer cs.streamEnded()
	}
	err := ss.setup(req)
	var begin time.Time
	if h := s.opts.stats; h != nil {
		begin = time.Now()
		ss.ctx = h.TagRPC(ss.ctx, req.Get(":path"))
		ss.evBegin()
	}
	if err == nil {
		err = ss.run()
	}
	code := ss.finish(err)
	ss.evOutTrailer(code)
	if h := s.opts.stats; h != nil {
		path := req.Get(":path")
		rs := &RPCStats{FullMethod: path, Begin: begin, Code: code, MsgsSent: ss.sentN, MsgsRecv: ss.recvd,
			UnknownMethod: s.methods[path] == nil}
		ctx := ss.ctx
		report := func() {
			rs.End = time.Now()
			rs.fillFromStream(st)
			h.HandleRPC(ctx, rs)
		}
		// The writer frames the status after we return: the figures are
		// complete once the stream has closed, normally a moment later.
		select {
		case <-st.Done():
			report()
		default:
			go func() {
				<-st.Done()
				report()
			}()
		}
	}
	ss.cancel()
	// A request body left unread (say, the rest of a message refused for its
	// size) is h2's business: it drops what still arrives and credits the
	// windows, so the client finishes sending and sees the status while this
	// goroutine and the call's slot are already free.
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
	base := ss.st.Context() // canceled by h2 on reset, session loss, or handler return
	ss.cancel = noCancel
	ss.cctx = callCtx{Context: base, ss: ss}
	ss.ctx = &ss.cctx
	var timeout, enc string
	for _, f := range req {
		switch f.Name {
		case "grpc-timeout":
			timeout = f.Value
		case "grpc-encoding":
			enc = f.Value
		default:
			// Binary values are checked now so a malformed one fails the call
			// up front rather than surprise the handler.
			if metadata.IsBinKey(f.Name) {
				if _, err := metadata.DecodeBin(f.Value); err != nil {
					return status.Errorf(codes.Internal, "rpc: malformed binary metadata %q: %v", f.Name, err)
				}
			}
		}
	}
	ss.req = req
	if timeout != "" {
		d, err := parseTimeout(timeout)
		if err != nil {
			return status.Errorf(codes.Internal, "rpc: malformed grpc-timeout %q", timeout)
		}
		ss.cctx.Context, ss.cancel = context.WithTimeout(base, d)
	}
	if enc != "" && enc != "identity" {
		c := GetCompressor(enc)
		if c == nil {
			ss.badEncoding = true
			return status.Errorf(codes.Unimplemented, "rpc: grpc-encoding %q is not supported", enc)
		}
		ss.er.decomp = c
		ss.comp = c
	}
	path := ss.st.Header().Get(":path")
	mi, svcKnown := ss.srv.lookup(path)
	if mi == nil {
		if svcKnown {
			return status.Errorf(codes.Unimplemented, "unknown method %s", path)
		}
		return status.Errorf(codes.Unimplemented, "unknown service %s", serviceOf(path))
	}
	ss.mi = mi
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
		switch name {
		case "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
			"grpc-status", "grpc-message", "grpc-status-details-bin":
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
	msg, bp, err := ss.er.next()
	if err == io.EOF {
		return status.Error(codes.Internal, "rpc: unary call without a request message")
	}
	if err != nil {
		return ss.recvError(err)
	}
	ss.recvd++
	if m != nil {
		err = ss.codec.codec.Unmarshal(msg, m)
	}
	recvBufs.put(bp)
	if err != nil {
		return status.Errorf(codes.Internal, "rpc: unmarshaling request: %v", err)
	}
	ss.evInPayload(m, len(msg))
	switch err := ss.er.expectEnd(); err {
	case io.EOF:
		return nil
	case errSecondMessage:
		return status.Error(codes.Internal, "rpc: unary call with more than one request message")
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
	ss.headerSent = true
	ss.markSent()
	ss.evOutHeader()
	if err := ss.st.Respond(ss.responseHeader(), nil); err != nil {
		return ss.recvError(err)
	}
	return nil
}

// responseHeader is the response's header block: the shared OK one unless
// the response is compressed or the handler set header metadata.
func (ss *serverStream) responseHeader() h2.Header {
	if ss.comp == nil && len(ss.header) == 0 {
		return ss.codec.respHeader
	}
	hdr := make(h2.Header, 2, 3+len(ss.header))
	copy(hdr, ss.codec.respHeader)
	if ss.comp != nil {
		hdr = append(hdr, h2.HeaderField{Name: "grpc-encoding", Value: ss.comp.Name()})
	}
	return appendMD(hdr, ss.header)
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
	return encodeMessage(ss.codec.codec, ss.comp, m, ss.srv.opts.maxSend)
}

func (ss *serverStream) SendMsg(m any) error {
	bp, err := ss.encodeOut(m)
	if err != nil {
		return err
	}
	defer sendBufs.put(bp)
	if err := ss.writeHeader(); err != nil {
		return err
	}
	ss.markSent()
	ss.sentN++
	ss.evOutPayload(m, len(*bp))
	if _, err := ss.st.Write(*bp); err != nil {
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

// endWith ends the response with trailers t, after the unary response
// that sendLast holds if any.
func (ss *serverStream) endWith(t h2.Header) {
	switch {
	case ss.last == nil:
		_ = ss.st.WriteTrailers(t)
		return
	case ss.headerSent:
		_, _ = ss.st.End(*ss.last, t)
	default:
		ss.headerSent = true
		ss.evOutHeader()
		_ = ss.st.Respond(ss.responseHeader(), &h2.RespondOptions{Body: *ss.last, Trailers: t})
	}
	sendBufs.put(ss.last)
	ss.last = nil
}

func (ss *serverStream) RecvMsg(m any) error {
	msg, bp, err := ss.er.next()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return ss.recvError(err)
	}
	ss.recvd++
	err = ss.codec.codec.Unmarshal(msg, m)
	recvBufs.put(bp)
	if err != nil {
		return status.Errorf(codes.Internal, "rpc: unmarshaling request: %v", err)
	}
	ss.evInPayload(m, len(msg))
	return nil
}

// finish sends the status: in trailers after a response header, or as a
// trailers-only response when nothing was sent yet. It returns the code sent.
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
	code := st.Code()
	headerOut := ss.headerSent || ss.last != nil // a header goes before the status
	if code == codes.OK && len(ss.trailer) == 0 {
		if !headerOut {
			// Trailers-only OK (e.g. a stream that sent nothing).
			t := make(h2.Header, 0, 3)
			t = append(t, ss.codec.respHeader...)
			t = append(t, trailerOK...)
			_ = ss.st.Respond(t, &h2.RespondOptions{EndStream: true})
			return code
		}
		ss.endWith(trailerOK)
		return code
	}
	t := make(h2.Header, 0, 6+len(ss.trailer))
	if !headerOut {
		t = append(t, ss.codec.respHeader...)
		t = appendMD(t, ss.header)
		if ss.badEncoding {
			// The spec asks to tell the client what we do accept.
			t = append(t, h2.HeaderField{Name: "grpc-accept-encoding", Value: acceptEncodingHeader()})
		}
	}
	t = append(t, h2.HeaderField{Name: "grpc-status", Value: codeString(code)})
	if msg := st.Message(); msg != "" {
		t = append(t, h2.HeaderField{Name: "grpc-message", Value: encodeGrpcMessage(msg)})
	}
	if p := st.Proto(); p != nil && len(p.Details) > 0 {
		if b, merr := p.Marshal(); merr == nil {
			t = append(t, h2.HeaderField{Name: "grpc-status-details-bin", Value: metadata.EncodeBin(string(b))})
		}
	}
	t = appendMD(t, ss.trailer)
	if !headerOut {
		ss.headerSent = true
		_ = ss.st.Respond(t, &h2.RespondOptions{EndStream: true})
		return code
	}
	ss.endWith(t)
	return code
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
