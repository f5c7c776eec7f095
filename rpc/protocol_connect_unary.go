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
	ub := &unaryBody{src: ss.tr, max: ss.srv.opts.maxRecv}
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
	hdr := make(h2.Header, 0, 4+len(ss.header)+len(ss.trailer))
	var body []byte
	if st.Code() == codes.OK && ss.last != nil {
		msg := *ss.last
		hdr = append(hdr, h2.HeaderField{Name: ":status", Value: "200"},
			h2.HeaderField{Name: "content-type", Value: "application/" + ss.codec.codec.Name()})
		if msg[0]&1 != 0 {
			hdr = append(hdr, h2.HeaderField{Name: "content-encoding", Value: ss.comp.Name()})
		}
		body = msg[envelopeHeaderLen:]
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
		js, err := json.Marshal(newConnectError(st))
		if err != nil {
			js = []byte(`{"code":"internal"}`)
		}
		body = js
	}
	hdr = appendMD(hdr, ss.header)
	hdr = appendTrailerMD(hdr, ss.trailer)
	ss.headerGoesOut()
	_ = ss.tr.respond(hdr, h2.RespondOptions{Body: body})
	if ss.last != nil {
		sendBufs.put(ss.last)
		ss.last = nil
	}
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
	ub := &unaryBody{msg: msg, loaded: true}
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
	prefix     [envelopeHeaderLen]byte
	off        int // bytes of prefix+msg served so far
}

func (u *unaryBody) load() error {
	u.loaded = true
	b, err := io.ReadAll(io.LimitReader(u.src, int64(u.max)+1))
	if err != nil {
		return err
	}
	if len(b) > u.max {
		return status.Errorf(codes.ResourceExhausted, "rpc: received message larger than the limit of %d bytes", u.max)
	}
	u.msg = b
	return nil
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

func (connectUnaryProtocol) prepareRequest(hs *httpStream, req *http.Request, body []byte) error {
	h := req.Header
	h["Accept-Encoding"] = []string{acceptEncodingHeader()}
	var compression string
	if len(body) >= envelopeHeaderLen && body[0]&1 != 0 {
		compression = hs.comp.Name()
	}
	msg := body[min(len(body), envelopeHeaderLen):]
	if hs.get {
		req.Method = http.MethodGet
		req.URL.RawQuery = connectGetQuery(hs.codecN, msg, compression)
	} else {
		h["Content-Type"] = []string{"application/" + hs.codecN}
		if compression != "" {
			h["Content-Encoding"] = []string{compression}
		}
	}
	// The body is the message without its envelope prefix.
	hs.body = msg
	return setConnectCommon(hs, h)
}

// readResponse: a 200 response's body is the message; any other status is
// an error, its details in a JSON body. Trailer metadata are headers
// prefixed "trailer-".
func (connectUnaryProtocol) readResponse(hs *httpStream, resp *http.Response) error {
	h := resp.Header
	hs.header = httpHeaderMD(h, isConnectUnaryResponseHeader)
	hs.trailer = connectUnaryTrailers(h)
	if resp.StatusCode != http.StatusOK {
		return connectUnaryError(hs.ctx, resp, h.Get("Content-Encoding"), hs.ci.maxRecv)
	}
	if err := checkConnectContentType(h.Get("Content-Type"), "application/", hs.codecN); err != nil {
		return err
	}
	ub := &unaryBody{src: resp.Body, max: hs.ci.maxRecv}
	if enc := h.Get("Content-Encoding"); enc != "" && enc != "identity" {
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
func connectUnaryError(ctx context.Context, resp *http.Response, enc string, max int) error {
	code := httpStatusToCode(resp.StatusCode)
	fallback := status.Errorf(code, "rpc: unexpected HTTP status %s from the server", resp.Status)
	if mediaSubtype(resp.Header.Get("Content-Type")) != "application/json" {
		return fallback
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return status.FromContextError(cerr).Err()
		}
		return fallback
	}
	if len(b) > max {
		return fallback
	}
	if enc != "" && enc != "identity" {
		c := GetCompressor(enc)
		if c == nil {
			return fallback
		}
		if b, err = c.Decompress(nil, b, max); err != nil {
			return fallback
		}
	}
	var ce connectError
	if json.Unmarshal(b, &ce) != nil {
		return fallback
	}
	if !knownConnectCode(ce.Code) {
		ce.Code = connectCodeName(code)
	}
	return ce.status()
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
func connectUnaryTrailers(h http.Header) metadata.MD {
	var md metadata.MD
	for k, vs := range h {
		k = strings.ToLower(k)
		name, ok := strings.CutPrefix(k, "trailer-")
		if !ok {
			continue
		}
		for _, v := range vs {
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
	}
	return md
}

// endOfStream and bodyEnded are never called: a unary body has no end
// envelope, and its end is the call's success (httpStream.unaryResp).
func (connectUnaryProtocol) endOfStream(*httpStream, []byte) (metadata.MD, error) {
	return nil, status.Error(codes.Internal, "rpc: end-of-stream message in a unary response")
}

func (connectUnaryProtocol) bodyEnded(*httpStream) error { return io.EOF }
