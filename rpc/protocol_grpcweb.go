package rpc

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// gRPC-Web (PROTOCOL-WEB): gRPC for peers that cannot read HTTP trailers
// (browsers) or speak only HTTP/1.1. "application/grpc-web[+NAME]", and
// "application/grpc-web-text[+NAME]" with the whole body in base64. The
// request is gRPC's (grpc-timeout, grpc-encoding, enveloped messages); the
// response's status and trailer metadata come last in the body, as one more
// envelope whose flag has the high bit set (0x80) and whose payload is an
// HTTP/1-style header block ("grpc-status: 0\r\n", keys in lower case).

// grpcWebTrailerFlag marks the envelope that carries the trailers.
const grpcWebTrailerFlag = 0x80

type grpcWebProtocol struct{ text bool }

// grpcWebFor picks the variant and codec of a gRPC-Web content-type; a nil
// codec when it is unknown.
func grpcWebFor(ct string) (protocolID, *codecEntry) {
	rest := ct[len("application/grpc-web"):]
	p := protoGRPCWeb
	if r, ok := strings.CutPrefix(rest, "-text"); ok {
		p, rest = protoGRPCWebText, r
	}
	switch {
	case rest == "" || rest[0] == ';':
		return p, protoEntry
	case rest[0] == '+':
		return p, codecEntryFor(mediaSubtype(rest[1:]))
	}
	return p, nil
}

func (p grpcWebProtocol) contentType(ss *serverStream) string {
	if p.text {
		return "application/grpc-web-text+" + ss.codec.codec.Name()
	}
	return "application/grpc-web+" + ss.codec.codec.Name()
}

// grpcWebOKHeaders are the response headers of the built-in codecs,
// shared read-only as codecEntry.respHeader is for gRPC: building one cost
// two allocations a call.
var grpcWebOKHeaders = map[grpcWebProtocol]map[string]h2.Header{
	{text: false}: {"proto": okHeader("application/grpc-web+proto"), "json": okHeader("application/grpc-web+json")},
	{text: true}:  {"proto": okHeader("application/grpc-web-text+proto"), "json": okHeader("application/grpc-web-text+json")},
}

// okHeader is a 200 response header with content-type ct.
func okHeader(ct string) h2.Header {
	return h2.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: ct}}
}

func (p grpcWebProtocol) readHeader(ss *serverStream, req h2.Header) error {
	if p.text {
		t := &base64Transport{serverTransport: ss.tr}
		t.body = ioFramedReader{r: &base64Reader{r: ss.tr}}
		ss.tr = t
		ss.er.r = t
	}
	return grpcProtocol{}.readHeader(ss, req)
}

func (grpcWebProtocol) isProtocolHeader(name string) bool {
	return isGRPCHeader(name) || isHTTPHeader(name)
}

func (p grpcWebProtocol) sendHeader(ss *serverStream) error {
	return ss.respond(p.responseHeader(ss))
}

func (p grpcWebProtocol) responseHeader(ss *serverStream) h2.Header {
	base, ok := grpcWebOKHeaders[p][ss.codec.codec.Name()]
	if !ok {
		base = okHeader(p.contentType(ss))
	}
	return grpcResponseHeader(ss, base)
}

// finish sends the status as the body's last envelope, after the unary
// response ss.last holds if any.
func (p grpcWebProtocol) finish(ss *serverStream, st *status.Status) {
	var fields [4]h2.HeaderField // the status and a few trailers, without an allocation
	t := appendGRPCStatus(fields[:0], st)
	t = appendMD(t, ss.trailer)
	// The body, response and trailers, is built in a pooled buffer, which
	// endInBody hands to the transport.
	var bp *[]byte
	if ss.last != nil {
		bp, ss.last = ss.last, nil
	} else {
		bp = sendBufs.get(64)
	}
	*bp = appendGRPCWebTrailers(*bp, t)
	endInBody(ss, bp, p.responseHeader, "grpc-accept-encoding")
}

// appendGRPCWebTrailers appends the trailer envelope for t.
func appendGRPCWebTrailers(dst []byte, t h2.Header) []byte {
	start := len(dst)
	dst = append(dst, grpcWebTrailerFlag, 0, 0, 0, 0)
	for _, f := range t {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, "\r\n"...)
	}
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-envelopeHeaderLen))
	return dst
}

// parseGRPCWebTrailers reads the payload of a trailer envelope: keys in
// lower case (a peer may send them in any case), values trimmed.
func parseGRPCWebTrailers(b []byte) (h2.Header, error) {
	return appendGRPCWebTrailerFields(nil, b)
}

// appendGRPCWebTrailerFields is parseGRPCWebTrailers appending to t; the
// names gRPC itself sends cost no allocation.
func appendGRPCWebTrailerFields(t h2.Header, b []byte) (h2.Header, error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, status.Errorf(codes.Internal, "rpc: malformed gRPC-Web trailer line %q", line)
		}
		t = append(t, h2.HeaderField{Name: trailerName(bytes.TrimSpace(k)), Value: string(bytes.TrimSpace(v))})
	}
	return t, nil
}

// trailerName is k in lower case, the names of gRPC's status fields
// without building a string.
func trailerName(k []byte) string {
	switch string(k) {
	case "grpc-status":
		return "grpc-status"
	case "grpc-message":
		return "grpc-message"
	case "grpc-status-details-bin":
		return "grpc-status-details-bin"
	}
	return strings.ToLower(string(k))
}

// base64Transport is a transport for grpc-web-text: every byte of the
// response body goes out in base64, each write as its own padded run (the
// spec lets a body be such runs back to back, so nothing waits for the
// next write), and the request body is read the same way.
type base64Transport struct {
	serverTransport
	body ioFramedReader
}

func encodeBase64(p []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(p)))
	base64.StdEncoding.Encode(out, p)
	return out
}

func (t *base64Transport) Read(p []byte) (int, error) { return t.body.r.Read(p) }

func (t *base64Transport) ReadFramed(p []byte, need func([]byte) int) (int, error) {
	return t.body.ReadFramed(p, need)
}

func (t *base64Transport) ReadFramedInPlace(p []byte, need func([]byte) int) (int, error) {
	return t.body.ReadFramed(p, need)
}

func (t *base64Transport) respond(hdr h2.Header, opts h2.RespondOptions) error {
	if opts.Body != nil {
		opts.Body = encodeBase64(opts.Body)
	}
	return t.serverTransport.respond(hdr, opts)
}

func (t *base64Transport) Write(p []byte) (int, error) {
	if _, err := t.serverTransport.Write(encodeBase64(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *base64Transport) End(p []byte, trailers h2.Header) (int, error) {
	if _, err := t.serverTransport.End(encodeBase64(p), trailers); err != nil {
		return 0, err
	}
	return len(p), nil
}

// base64Reader decodes a body made of padded base64 runs back to back
// (each 4-character quantum decodes on its own, "=" included).
type base64Reader struct {
	r    io.Reader
	raw  [4096]byte
	nraw int // undecoded characters at the start of raw
	out  []byte
	dec  [3072]byte
	err  error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			if b.err == io.EOF && b.nraw != 0 {
				return 0, status.Error(codes.Internal, "rpc: grpc-web-text body ends mid-quantum")
			}
			return 0, b.err
		}
		n, err := b.r.Read(b.raw[b.nraw:])
		b.nraw += n
		b.err = err
		quanta := b.nraw / 4 * 4
		out := b.dec[:0]
		for i := 0; i < quanta; i += 4 {
			var q [3]byte
			m, derr := base64.StdEncoding.Decode(q[:], b.raw[i:i+4])
			if derr != nil {
				b.err = status.Errorf(codes.Internal, "rpc: grpc-web-text body: %v", derr)
				break
			}
			out = append(out, q[:m]...)
		}
		b.nraw = copy(b.raw[:], b.raw[quanta:b.nraw])
		b.out = out
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// isHTTPHeader: request fields of HTTP itself, or that gRPC-Web's browser
// clients add to say what they are, and that are not the caller's metadata.
func isHTTPHeader(name string) bool {
	switch name {
	case "content-length", "accept-encoding", "x-grpc-web", "x-user-agent":
		return true
	}
	return false
}

// The client's half of gRPC-Web (client_http_stream.go runs the call).

var grpcWebClientProto clientProtocol = grpcWebProtocol{}

// prepareRequest: gRPC's request fields, in a gRPC-Web content-type.
func (grpcWebProtocol) prepareRequest(hs *httpStream, req *webRequest, _ []byte) error {
	req.add("content-type", grpcWebContentType(hs.codecN))
	req.add("x-grpc-web", "1")
	req.add("grpc-accept-encoding", acceptEncodingHeader())
	if hs.comp != nil {
		req.add("grpc-encoding", hs.comp.Name())
	}
	d, err := timeoutOf(hs.ctx)
	if err != nil {
		return err
	}
	if d > 0 {
		req.add("grpc-timeout", formatTimeout(d))
	}
	return nil
}

// grpcWebContentType is "application/grpc-web+" + codec, without building
// the string for the built-in codecs.
func grpcWebContentType(codec string) string {
	switch codec {
	case "proto":
		return "application/grpc-web+proto"
	case "json":
		return "application/grpc-web+json"
	}
	return "application/grpc-web+" + codec
}

// readResponse checks the status and content-type, and finishes a
// trailers-only response (its status in the header).
func (grpcWebProtocol) readResponse(hs *httpStream, resp *webResponse) error {
	h := resp.header
	if resp.code != http.StatusOK {
		return status.Errorf(httpStatusToCode(resp.code), "rpc: unexpected HTTP status %s from the server", resp.statusText())
	}
	if ct := h.Get("content-type"); !strings.HasPrefix(ct, "application/grpc-web") {
		// Not a gRPC-Web response at all (a proxy's page, say): UNKNOWN,
		// as the spec says of any response not from a gRPC server.
		return status.Errorf(codes.Unknown, "rpc: unexpected content-type %q from the server", ct)
	}
	// A header with grpc-status is a trailers-only response only if the
	// body is empty: bodyEnded says so when it finds the body ended without
	// a trailer envelope; trailers in the body take precedence.
	hs.header = responseMD(h, isGRPCResponseHeader)
	if enc := h.Get("grpc-encoding"); enc != "" && enc != "identity" {
		if hs.er.decomp = GetCompressor(enc); hs.er.decomp == nil {
			return status.Errorf(codes.Internal, "rpc: server used unsupported grpc-encoding %q", enc)
		}
	}
	hs.er.r = resp.framed()
	hs.er.endFlag = grpcWebTrailerFlag
	return nil
}

// isGRPCResponseHeader: response fields of HTTP or gRPC, not metadata.
func isGRPCResponseHeader(k string) bool {
	return isHTTPResponseHeader(k) || strings.HasPrefix(k, "grpc-")
}

func (grpcWebProtocol) endOfStream(hs *httpStream, payload []byte) (metadata.MD, error) {
	var fields [4]h2.HeaderField // the status and a few trailers, without an allocation
	t, err := appendGRPCWebTrailerFields(fields[:0], payload)
	if err != nil {
		return nil, err
	}
	for _, f := range t {
		if f.Name == "grpc-retry-pushback-ms" { // for a retry policy (httpStream.pushback)
			hs.pushbackMs, hs.hasPushback = f.Value, true
		}
	}
	return headerMD(t), grpcStatusFrom(t)
}

// bodyEnded: a body without its trailer envelope is a trailers-only
// response when the header had the status (its metadata are then the
// trailer metadata too), or may have had its status sent as HTTP trailers
// (a gRPC server answering over HTTP/2).
func (grpcWebProtocol) bodyEnded(hs *httpStream) error {
	if h := hs.resp.header; h.Get("grpc-status") != "" {
		hs.trailer = hs.header
		return grpcStatusFrom(h)
	}
	if t := hs.resp.trailers(); t.Get("grpc-status") != "" {
		hs.trailer = responseMD(t, isGRPCResponseHeader)
		return grpcStatusFrom(t)
	}
	return status.Error(codes.Internal, "rpc: gRPC-Web response ended without its trailers")
}
