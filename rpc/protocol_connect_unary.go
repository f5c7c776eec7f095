package rpc

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Connect's unary form, POST and GET (see protocol_connect.go).

// connectUnaryProtocol is Connect unary over POST: the body is the message.
type connectUnaryProtocol struct{}

// connectGetProtocol is Connect unary over GET, for methods without side
// effects: the message, its codec and compression are in the query
// (message, encoding, base64, compression, connect).
type connectGetProtocol struct{ connectUnaryProtocol }

func (connectUnaryProtocol) readHeader(ss *serverStream, req h2.Header) error {
	enc, accept, err := connectCommon(ss, req, "content-encoding", "accept-encoding")
	if err != nil {
		return err
	}
	// The body's reader lives in the call's state: one allocation less.
	ss.ub = unaryBody{src: ss.tr, max: ss.srv.opts.maxRecv}
	ub := &ss.ub
	ss.er.r = ub
	if err := ss.setEncoding("content-encoding", enc); err != nil {
		return err
	}
	ub.compressed = ss.comp != nil
	ss.comp = pickCompressor(accept)
	return nil
}

func (connectUnaryProtocol) isProtocolHeader(name string) bool { return isConnectHeader(name) }

func (connectUnaryProtocol) checkMethod(ss *serverStream, mi *methodInfo) error {
	if mi.unary == nil {
		ss.refuseHTTP = 415
		return status.Errorf(codes.Unknown, "rpc: %s is a streaming method: use application/connect+%s", mi.full, ss.codec.codec.Name())
	}
	return nil
}

// sendHeader does nothing: a unary response's header goes with its status.
func (connectUnaryProtocol) sendHeader(*serverStream) error { return nil }

// finish sends the whole response: the message, or the error as JSON with
// the HTTP status its code maps to, header metadata as headers and trailer
// metadata as headers prefixed "trailer-".
func (connectUnaryProtocol) finish(ss *serverStream, st *status.Status) {
	if ss.refuseHTTP != 0 {
		hdr := h2.Header{{Name: ":status", Value: strconv.Itoa(int(ss.refuseHTTP))}}
		if ss.refuseHTTP == 405 {
			hdr = append(hdr, h2.HeaderField{Name: "allow", Value: "POST"})
		}
		_ = ss.tr.respond(hdr, h2.RespondOptions{EndStream: true})
		return
	}
	if st.Code() == codes.OK && ss.last != nil && (*ss.last)[0]&1 == 0 && len(ss.header) == 0 && len(ss.trailer) == 0 {
		if hdr, ok := connectUnaryOKHeaders[ss.codec.codec.Name()]; ok {
			// The common response: no metadata, uncompressed.
			ss.headerGoesOut()
			respondOwning(ss, hdr, connectUnaryBody(ss))
			return
		}
	}
	hdr := make(h2.Header, 0, 4+len(ss.header)+len(ss.trailer))
	var bp *[]byte
	if st.Code() == codes.OK && ss.last != nil {
		hdr = append(hdr, h2.HeaderField{Name: ":status", Value: "200"},
			h2.HeaderField{Name: "content-type", Value: connectUnaryContentType(ss.codec.codec.Name())})
		if (*ss.last)[0]&1 != 0 {
			hdr = append(hdr, h2.HeaderField{Name: "content-encoding", Value: ss.comp.Name()})
		}
		bp = connectUnaryBody(ss)
	} else {
		if st.Code() == codes.OK {
			st = status.New(codes.Internal, "rpc: unary handler returned no response")
		}
		code := connectHTTPStatus(st.Code())
		if ss.notFound {
			code = http.StatusNotFound // no such method: the path is unknown, as HTTP says it
		}
		hdr = append(hdr, h2.HeaderField{Name: ":status", Value: strconv.Itoa(code)},
			h2.HeaderField{Name: "content-type", Value: "application/json"})
		if ss.badEncoding {
			hdr = append(hdr, h2.HeaderField{Name: "accept-encoding", Value: acceptEncodingHeader()})
		}
		if ss.last != nil {
			sendBufs.put(ss.last) // a response the failed status replaces
			ss.last = nil
		}
		bp = sendBufs.get(128)
		*bp = appendConnectErrorJSON(*bp, newConnectError(st))
	}
	hdr = appendMD(hdr, ss.header)
	hdr = appendTrailerMD(hdr, ss.trailer)
	ss.headerGoesOut()
	respondOwning(ss, hdr, bp)
}

// connectUnaryBody takes the unary response ss.last holds and makes its
// buffer the response body: the message without its envelope prefix,
// moved down in place (cheaper than the message's encoding was, and the
// buffer can then be handed to the transport whole).
func connectUnaryBody(ss *serverStream) *[]byte {
	bp := ss.last
	ss.last = nil
	b := *bp
	*bp = b[:copy(b, b[envelopeHeaderLen:])]
	return bp
}

// connectUnaryOKHeaders are the headers of a successful response without
// metadata or compression for the built-in codecs, shared read-only: most
// responses are that, and building one cost two allocations.
var connectUnaryOKHeaders = map[string]h2.Header{
	"proto": okHeader("application/proto"),
	"json":  okHeader("application/json"),
}

// appendTrailerMD adds trailer metadata as headers prefixed "trailer-".
func appendTrailerMD(h h2.Header, md metadata.MD) h2.Header {
	for k, vs := range md {
		if reservedHeader(k) {
			continue
		}
		for _, v := range vs {
			if metadata.IsBinKey(k) {
				v = metadata.EncodeBin(v)
			}
			h = append(h, h2.HeaderField{Name: "trailer-" + k, Value: v})
		}
	}
	return h
}

func (connectGetProtocol) readHeader(ss *serverStream, req h2.Header) error {
	_, _, err := connectCommon(ss, req, "", "")
	return err
}

// checkMethod allows GET only for methods marked side-effect-free, then
// reads the query: what a POST says in its content-type, content-encoding
// and body.
func (connectGetProtocol) checkMethod(ss *serverStream, mi *methodInfo) error {
	if mi.unary == nil || mi.unary.Idempotency != NoSideEffects {
		ss.refuseHTTP = 405
		return status.Errorf(codes.Unimplemented, "rpc: %s cannot be called with GET", mi.full)
	}
	q, err := url.ParseQuery(ss.query())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "rpc: malformed query: %v", err)
	}
	if v := q.Get("connect"); v != "" && v != "v1" {
		return status.Errorf(codes.InvalidArgument, "rpc: connect query parameter must be \"v1\", got %q", v)
	}
	ss.codec = codecEntryFor(mediaSubtype(q.Get("encoding")))
	if ss.codec == nil {
		ss.refuseHTTP = 415
		return status.Errorf(codes.InvalidArgument, "rpc: unknown encoding %q", q.Get("encoding"))
	}
	msg := []byte(q.Get("message"))
	if q.Get("base64") == "1" {
		if msg, err = decodeBase64Any(string(msg)); err != nil {
			return status.Errorf(codes.InvalidArgument, "rpc: malformed base64 message: %v", err)
		}
	}
	if len(msg) > ss.srv.opts.maxRecv {
		return status.Errorf(codes.ResourceExhausted, "rpc: received message of %d bytes exceeds the limit of %d", len(msg), ss.srv.opts.maxRecv)
	}
	ss.ub = unaryBody{msg: msg, loaded: true}
	ub := &ss.ub
	ss.er.r = ub
	if err := ss.setEncoding("compression", q.Get("compression")); err != nil {
		return err
	}
	ub.compressed = ss.comp != nil
	ss.comp = pickCompressor(ss.req.Get("accept-encoding"))
	return nil
}

// unaryBody presents a Connect unary request (a bare message) to the
// envelope reader as one envelope: the message is read whole (bounded by
// the size limit) at the first read, and served behind a 5-byte prefix.
type unaryBody struct {
	src        io.Reader // the request body; nil when msg came in the query
	max        int
	compressed bool
	loaded     bool
	msg        []byte
	bp         *[]byte // msg's pooled buffer, given back once msg is served
	prefix     [envelopeHeaderLen]byte
	off        int // bytes of prefix+msg served so far
}

// load reads the whole body into a pooled buffer (recvBufs), growing it by
// size class: a body read with io.ReadAll cost two allocations a call. The
// body goes after room for an envelope prefix, so that the envelope reader
// can take the buffer as its message (takeWhole) instead of copying the
// body into one of its own.
func (u *unaryBody) load() error {
	u.loaded = true
	bp := recvBufs.get(512)
	b := (*bp)[:envelopeHeaderLen]
	for len(b)-envelopeHeaderLen <= u.max {
		if len(b) == cap(b) {
			nbp := recvBufs.get(2 * cap(b))
			b = append(*nbp, b...)
			recvBufs.put(bp)
			bp = nbp
		}
		n, err := u.src.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			recvBufs.put(bp)
			return err
		}
	}
	*bp = b
	if len(b)-envelopeHeaderLen > u.max {
		recvBufs.put(bp)
		return status.Errorf(codes.ResourceExhausted, "rpc: received message larger than the limit of %d bytes", u.max)
	}
	u.msg, u.bp = b[envelopeHeaderLen:], bp
	return nil
}

// takeWhole hands the body over as the envelope reader's message: its
// pooled buffer, the prefix written in the room load left. ok is false when
// the message has no such buffer (it came in a GET's query) or was partly
// served already; ReadFramed serves those.
func (u *unaryBody) takeWhole() (bp *[]byte, ok bool, err error) {
	if !u.loaded {
		if err := u.load(); err != nil {
			return nil, true, err
		}
	}
	if u.bp == nil || u.off != 0 {
		return nil, false, nil
	}
	bp = u.bp
	b := *bp
	b[0] = 0
	if u.compressed {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:envelopeHeaderLen], uint32(len(u.msg)))
	u.off = len(b) // all served: ReadFramed says io.EOF from now on
	u.msg, u.bp = nil, nil
	return bp, true, nil
}

func (u *unaryBody) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	if !u.loaded {
		if err := u.load(); err != nil {
			return 0, err
		}
	}
	if u.off == 0 {
		if u.compressed {
			u.prefix[0] = 1
		}
		binary.BigEndian.PutUint32(u.prefix[1:], uint32(len(u.msg)))
	}
	total := envelopeHeaderLen + len(u.msg)
	got := 0
	for u.off < total {
		want := len(p)
		if need != nil {
			want = min(need(p[:got:len(p)]), len(p))
		}
		if got >= want {
			break
		}
		var n int
		if u.off < envelopeHeaderLen {
			n = copy(p[got:want], u.prefix[u.off:])
		} else {
			n = copy(p[got:want], u.msg[u.off-envelopeHeaderLen:])
		}
		got += n
		u.off += n
	}
	if u.off >= total {
		recvBufs.put(u.bp)
		u.msg, u.bp = nil, nil
		return got, io.EOF
	}
	return got, nil
}

func (u *unaryBody) ReadFramedInPlace(p []byte, need func([]byte) int) (int, error) {
	return u.ReadFramed(p, need)
}

// connectGetQuery is the query a client sends for a GET call: the message
// in URL-safe base64 when it is binary (or compressed), as is otherwise.
// The parameters go in the order the spec recommends (connect, base64,
// encoding, compression, message), which keeps URLs stable for caches and
// puts the message, the longest, last.
func connectGetQuery(codec string, msg []byte, compression string) string {
	b64 := codec != "json" || compression != ""
	var q strings.Builder
	q.WriteString("connect=v1")
	if b64 {
		q.WriteString("&base64=1")
	}
	q.WriteString("&encoding=")
	q.WriteString(url.QueryEscape(codec))
	if compression != "" {
		q.WriteString("&compression=")
		q.WriteString(url.QueryEscape(compression))
	}
	q.WriteString("&message=")
	if b64 {
		q.WriteString(base64.RawURLEncoding.EncodeToString(msg))
	} else {
		q.WriteString(url.QueryEscape(string(msg)))
	}
	return q.String()
}

// The client's half of Connect unary (client_http_stream.go runs the
// call): the request body is the bare message, or the query for GET.

var connectUnaryClientProto clientProtocol = connectUnaryProtocol{}

func (connectUnaryProtocol) prepareRequest(hs *httpStream, req *webRequest, body []byte) error {
	req.add("accept-encoding", acceptEncodingHeader())
	var compression string
	if len(body) >= envelopeHeaderLen && body[0]&1 != 0 {
		compression = hs.comp.Name()
	}
	// The body is the message without its envelope prefix.
	msg := body[min(len(body), envelopeHeaderLen):]
	if hs.get {
		req.setGet(connectGetQuery(hs.codecN, msg, compression))
		req.body = nil
	} else {
		req.add("content-type", connectUnaryContentType(hs.codecN))
		if compression != "" {
			req.add("content-encoding", compression)
		}
		req.body = msg
		if bp := hs.bodyBP; bp != nil && len(body) >= envelopeHeaderLen && &body[0] == &(*bp)[0] {
			// Moved down over the prefix in its pooled buffer, which then
			// holds the body alone and can be handed over (request).
			*bp = (*bp)[:copy(*bp, msg)]
			req.body = *bp
		}
	}
	return setConnectCommon(hs, req)
}

// connectUnaryContentType is "application/" + codec, without building the
// string for the built-in codecs.
func connectUnaryContentType(codec string) string {
	switch codec {
	case "proto":
		return "application/proto"
	case "json":
		return "application/json"
	}
	return "application/" + codec
}

// readResponse: a 200 response's body is the message; any other status is
// an error, its details in a JSON body. Trailer metadata are headers
// prefixed "trailer-".
func (connectUnaryProtocol) readResponse(hs *httpStream, resp *webResponse) error {
	h := resp.header
	hs.header = responseMD(h, isConnectUnaryResponseHeader)
	hs.trailer = connectUnaryTrailers(h)
	if resp.code != http.StatusOK {
		return connectUnaryError(hs.ctx, resp, h.Get("content-encoding"), hs.ci.maxRecv)
	}
	if err := checkConnectContentType(h.Get("content-type"), "application/", hs.codecN); err != nil {
		return err
	}
	hs.ub = unaryBody{src: resp.body(), max: hs.ci.maxRecv}
	ub := &hs.ub
	if enc := h.Get("content-encoding"); enc != "" && enc != "identity" {
		if hs.er.decomp = GetCompressor(enc); hs.er.decomp == nil {
			return status.Errorf(codes.Internal, "rpc: server used unsupported content-encoding %q", enc)
		}
		ub.compressed = true
	}
	hs.er.r = ub
	hs.unaryResp = true
	return nil
}

// connectUnaryError reads an error response: Connect's JSON error when the
// body is one (compressed per Content-Encoding), else the code the HTTP
// status maps to. An error whose code is missing or unknown takes the
// HTTP status's code and keeps its message and details, as the spec asks.
// A body cut short by the call's context ending says the context's reason:
// the deadline must not read as the HTTP status's code (504 is UNAVAILABLE).
func connectUnaryError(ctx context.Context, resp *webResponse, enc string, max int) error {
	code := httpStatusToCode(resp.code)
	if mediaSubtype(resp.header.Get("content-type")) != "application/json" {
		return httpStatusError(resp, code)
	}
	// Read as a request's body is: into a pooled buffer, within the limit.
	body := unaryBody{src: resp.body(), max: max}
	if body.load() != nil {
		if cerr := ctx.Err(); cerr != nil {
			return status.FromContextError(cerr).Err()
		}
		return httpStatusError(resp, code)
	}
	defer recvBufs.put(body.bp)
	b := body.msg
	if enc != "" && enc != "identity" {
		c := GetCompressor(enc)
		if c == nil {
			return httpStatusError(resp, code)
		}
		var err error
		if b, err = c.Decompress(nil, b, max); err != nil {
			return httpStatusError(resp, code)
		}
	}
	var ce connectError
	if json.Unmarshal(b, &ce) != nil {
		return httpStatusError(resp, code)
	}
	if !knownConnectCode(ce.Code) {
		ce.Code = connectCodeName(code)
	}
	return ce.status()
}

// httpStatusError is the error of a response that says no more than its
// HTTP status: the code that status maps to. It is built only when needed,
// as a Connect error body says more.
func httpStatusError(resp *webResponse, code codes.Code) error {
	return status.Errorf(code, "rpc: unexpected HTTP status %s from the server", resp.statusText())
}

// knownConnectCode reports a code name of the spec other than "ok".
func knownConnectCode(name string) bool {
	for c, n := range connectCodeNames {
		if n == name && c != int(codes.OK) {
			return true
		}
	}
	return false
}

// isConnectUnaryResponseHeader: fields that are not header metadata.
func isConnectUnaryResponseHeader(k string) bool {
	return isConnectResponseHeader(k) || strings.HasPrefix(k, "trailer-")
}

// connectUnaryTrailers are the "trailer-" headers, without the prefix.
func connectUnaryTrailers(h h2.Header) metadata.MD {
	var md metadata.MD
	for _, f := range h {
		name, ok := strings.CutPrefix(f.Name, "trailer-")
		if !ok {
			continue
		}
		v := f.Value
		if metadata.IsBinKey(name) {
			d, err := metadata.DecodeBin(v)
			if err != nil {
				continue
			}
			v = d
		}
		if md == nil {
			md = make(metadata.MD)
		}
		md[name] = append(md[name], v)
	}
	return md
}

// endOfStream and bodyEnded are never called: a unary body has no end
// envelope, and its end is the call's success (httpStream.unaryResp).
func (connectUnaryProtocol) endOfStream(*httpStream, []byte) (metadata.MD, error) {
	return nil, status.Error(codes.Internal, "rpc: end-of-stream message in a unary response")
}

func (connectUnaryProtocol) bodyEnded(*httpStream) error { return io.EOF }
