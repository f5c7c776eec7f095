package rpc

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/types/known/anypb"
)

// Connect (connectrpc.com/docs/protocol), over any HTTP version.
//
// Unary calls are plain HTTP: "application/NAME" (proto, json), the body
// is the bare message (compressed per Content-Encoding; the response per
// Accept-Encoding), header metadata are headers and trailer metadata are
// headers prefixed "trailer-", and an error is an HTTP status with a JSON
// body {"code", "message", "details"} (connect_unary.go, GET included).
//
// Streaming calls are "application/connect+NAME": enveloped messages as in
// gRPC (flag 1: compressed with Connect-Content-Encoding), the request
// ends with the body, and the response ends with an envelope flagged 2
// whose JSON payload carries the error, if any, and the trailer metadata:
// the HTTP status is 200 whatever the outcome.
//
// Both name their deadline in Connect-Timeout-Ms and their version in
// Connect-Protocol-Version ("1", optional).

// connectEndStreamFlag marks the envelope that ends a Connect stream.
const connectEndStreamFlag = 0x02

// connectCodeNames are the codes' names on the wire, by code.
var connectCodeNames = [...]string{
	codes.OK: "ok", codes.Canceled: "canceled", codes.Unknown: "unknown",
	codes.InvalidArgument: "invalid_argument", codes.DeadlineExceeded: "deadline_exceeded",
	codes.NotFound: "not_found", codes.AlreadyExists: "already_exists",
	codes.PermissionDenied: "permission_denied", codes.ResourceExhausted: "resource_exhausted",
	codes.FailedPrecondition: "failed_precondition", codes.Aborted: "aborted",
	codes.OutOfRange: "out_of_range", codes.Unimplemented: "unimplemented",
	codes.Internal: "internal", codes.Unavailable: "unavailable", codes.DataLoss: "data_loss",
	codes.Unauthenticated: "unauthenticated",
}

func connectCodeName(c codes.Code) string {
	if int(c) < len(connectCodeNames) {
		return connectCodeNames[c]
	}
	return "unknown"
}

// connectCodeFromName is the reverse; unknown names are UNKNOWN.
func connectCodeFromName(name string) codes.Code {
	for c, n := range connectCodeNames {
		if n == name {
			return codes.Code(c)
		}
	}
	return codes.Unknown
}

// connectHTTPStatus is the HTTP status of a unary error with code c.
func connectHTTPStatus(c codes.Code) int {
	switch c {
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return 400
	case codes.DeadlineExceeded:
		return 504
	case codes.NotFound:
		return 404
	case codes.AlreadyExists, codes.Aborted:
		return 409
	case codes.PermissionDenied:
		return 403
	case codes.ResourceExhausted:
		return 429
	case codes.Unimplemented:
		return 501
	case codes.Unavailable:
		return 503
	case codes.Unauthenticated:
		return 401
	}
	return 500
}

// connectError is the JSON form of an error.
type connectError struct {
	Code    string          `json:"code"`
	Message string          `json:"message,omitempty"`
	Details []connectDetail `json:"details,omitempty"`
}

// connectDetail is one error detail: a google.protobuf.Any's message name
// and value (base64, padding optional when read).
type connectDetail struct {
	Type  string          `json:"type"`
	Value string          `json:"value"`
	Debug json.RawMessage `json:"debug,omitempty"`
}

// connectEndStream is the payload of a stream's last envelope.
type connectEndStream struct {
	Error    *connectError       `json:"error,omitempty"`
	Metadata map[string][]string `json:"metadata,omitempty"`
}

func newConnectError(st *status.Status) *connectError {
	e := &connectError{Code: connectCodeName(st.Code()), Message: st.Message()}
	if p := st.Proto(); p != nil {
		for _, a := range p.Details {
			name := a.GetTypeUrl()
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				name = name[i+1:]
			}
			e.Details = append(e.Details, connectDetail{Type: name, Value: base64.RawStdEncoding.EncodeToString(a.GetValue())})
		}
	}
	return e
}

// status turns a received error back into a status error.
func (e *connectError) status() error {
	code := connectCodeFromName(e.Code)
	if code == codes.OK {
		code = codes.Unknown // an error must not read as success
	}
	p := &status.Proto{Code: int32(code), Message: e.Message}
	for _, d := range e.Details {
		v, err := decodeBase64Any(d.Value)
		if err != nil {
			return status.Errorf(codes.Internal, "rpc: malformed error detail %q: %v", d.Type, err)
		}
		p.Details = append(p.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type, Value: v})
	}
	return status.FromProto(p).Err()
}

// decodeBase64Any decodes standard or URL-safe base64, padded or not, as
// the Connect spec asks receivers to accept.
func decodeBase64Any(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// connectMetadataJSON is trailer metadata in the end-stream message's form:
// binary values in base64, as in headers.
func connectMetadataJSON(md metadata.MD) map[string][]string {
	if len(md) == 0 {
		return nil
	}
	out := make(map[string][]string, len(md))
	for k, vs := range md {
		if reservedHeader(k) {
			continue
		}
		for _, v := range vs {
			if metadata.IsBinKey(k) {
				v = metadata.EncodeBin(v)
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

// appendConnectEndStream appends the end-of-stream envelope for st and the
// trailer metadata.
func appendConnectEndStream(dst []byte, st *status.Status, trailer metadata.MD) []byte {
	start := len(dst)
	dst = append(dst, connectEndStreamFlag, 0, 0, 0, 0)
	dst = appendConnectEndStreamJSON(dst, st, trailer)
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-envelopeHeaderLen))
	return dst
}

// parseConnectEndStream reads an end-of-stream payload: the trailer
// metadata and the call's error, nil for success (connectError.status
// turns it into a status error). err reports a payload that is not one.
func parseConnectEndStream(b []byte) (md metadata.MD, callErr *connectError, err error) {
	var end connectEndStream
	if err := json.Unmarshal(b, &end); err != nil {
		return nil, nil, status.Errorf(codes.Internal, "rpc: malformed end-of-stream message: %v", err)
	}
	md = metadata.MD{}
	for k, vs := range end.Metadata {
		k = strings.ToLower(k)
		for _, v := range vs {
			md = addReceivedMD(md, k, v)
		}
	}
	return md, end.Error, nil
}

// parseConnectTimeout reads Connect-Timeout-Ms: at most 10 digits.
func parseConnectTimeout(s string) (time.Duration, error) {
	if len(s) == 0 || len(s) > 10 {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: malformed connect-timeout-ms %q", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: malformed connect-timeout-ms %q", s)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// formatConnectTimeout is the client's Connect-Timeout-Ms, rounded up so
// that the server never sees a shorter deadline.
func formatConnectTimeout(d time.Duration) string {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(min(int64(ms), 9999999999), 10)
}

// isConnectHeader: the request fields Connect owns.
func isConnectHeader(name string) bool {
	switch name {
	case "content-type", "content-length", "content-encoding", "accept-encoding", "te",
		"connect-timeout-ms", "connect-protocol-version", "connect-content-encoding", "connect-accept-encoding":
		return true
	}
	return false
}

// connectCommon reads the request fields both Connect forms share: the
// version, the deadline and binary metadata. It returns the values of the
// two compression fields it is told to look for.
func connectCommon(ss *serverStream, req h2.Header, encHeader, acceptHeader string) (enc, accept string, err error) {
	for _, f := range req {
		switch f.Name {
		case "connect-protocol-version":
			if f.Value != "1" {
				return "", "", status.Errorf(codes.InvalidArgument, "rpc: connect-protocol-version must be \"1\", got %q", f.Value)
			}
		case "connect-timeout-ms":
			d, err := parseConnectTimeout(f.Value)
			if err != nil {
				return "", "", err
			}
			ss.setTimeout(d)
		case encHeader:
			enc = f.Value
		case acceptHeader:
			accept = f.Value
		default:
			if err := checkBin(f); err != nil {
				return "", "", err
			}
		}
	}
	return enc, accept, nil
}

// pickCompressor chooses the response's compression from an
// Accept-Encoding style list: the first registered name, else none.
func pickCompressor(accept string) Compressor {
	for accept != "" {
		var name string
		name, accept, _ = strings.Cut(accept, ",")
		name, _, _ = strings.Cut(name, ";")
		name = strings.TrimSpace(name)
		if name == "" || name == "identity" {
			continue
		}
		if c := GetCompressor(name); c != nil {
			return c
		}
	}
	return nil
}

// connectStreamProtocol is Connect's streaming form on the server.
type connectStreamProtocol struct{}

func (connectStreamProtocol) readHeader(ss *serverStream, req h2.Header) error {
	enc, accept, err := connectCommon(ss, req, "connect-content-encoding", "connect-accept-encoding")
	if err != nil {
		return err
	}
	if err := ss.setEncoding("connect-content-encoding", enc); err != nil {
		return err
	}
	if ss.comp == nil {
		ss.comp = pickCompressor(accept)
	}
	return nil
}

func (connectStreamProtocol) isProtocolHeader(name string) bool { return isConnectHeader(name) }

func (connectStreamProtocol) checkMethod(ss *serverStream, mi *methodInfo) error {
	if mi.unary != nil {
		ss.refuseHTTP = 415
		return status.Errorf(codes.Unknown, "rpc: %s is a unary method: use a unary content-type", mi.full)
	}
	return nil
}

func (connectStreamProtocol) responseHeader(ss *serverStream) h2.Header {
	hdr := make(h2.Header, 0, 3+len(ss.header))
	hdr = append(hdr, h2.HeaderField{Name: ":status", Value: "200"},
		h2.HeaderField{Name: "content-type", Value: "application/connect+" + ss.codec.codec.Name()})
	if ss.comp != nil {
		hdr = append(hdr, h2.HeaderField{Name: "connect-content-encoding", Value: ss.comp.Name()})
	}
	return appendMD(hdr, ss.header)
}

func (p connectStreamProtocol) sendHeader(ss *serverStream) error {
	return ss.respond(p.responseHeader(ss))
}

// finish sends the end-of-stream message, after the response ss.last
// holds if any. A request refused before any stream existed (an unary
// method called in streaming form) gets a bare HTTP status instead.
func (p connectStreamProtocol) finish(ss *serverStream, st *status.Status) {
	if ss.refuseHTTP != 0 {
		_ = ss.tr.respond(h2.Header{{Name: ":status", Value: strconv.Itoa(int(ss.refuseHTTP))}}, h2.RespondOptions{EndStream: true})
		return
	}
	// The end-of-stream message follows the response ss.last holds, in
	// its pooled buffer, which endInBody hands to the transport.
	bp := ss.last
	ss.last = nil
	if bp == nil {
		bp = sendBufs.get(64)
	}
	*bp = appendConnectEndStream(*bp, st, ss.trailer)
	endInBody(ss, bp, p.responseHeader, "connect-accept-encoding")
}

// The client's half of Connect's streaming form (client_http_stream.go
// runs the call).

var connectStreamClientProto clientProtocol = connectStreamProtocol{}

// setConnectCommon adds the fields both Connect forms send: the version and
// the deadline.
func setConnectCommon(hs *httpStream, req *webRequest) error {
	req.add("connect-protocol-version", "1")
	d, err := timeoutOf(hs.ctx)
	if err != nil {
		return err
	}
	if d > 0 {
		req.add("connect-timeout-ms", formatConnectTimeout(d))
	}
	return nil
}

func (connectStreamProtocol) prepareRequest(hs *httpStream, req *webRequest, _ []byte) error {
	req.add("content-type", connectStreamContentType(hs.codecN))
	req.add("connect-accept-encoding", acceptEncodingHeader())
	if hs.comp != nil {
		req.add("connect-content-encoding", hs.comp.Name())
	}
	return setConnectCommon(hs, req)
}

// connectStreamContentType is "application/connect+" + codec, without
// building the string for the built-in codecs.
func connectStreamContentType(codec string) string {
	switch codec {
	case "proto":
		return "application/connect+proto"
	case "json":
		return "application/connect+json"
	}
	return "application/connect+" + codec
}

// readResponse: a stream's response is 200 whatever its outcome; any
// other status is an HTTP error.
func (connectStreamProtocol) readResponse(hs *httpStream, resp *webResponse) error {
	h := resp.header
	if resp.code != http.StatusOK {
		return status.Errorf(httpStatusToCode(resp.code), "rpc: unexpected HTTP status %s from the server", resp.statusText())
	}
	if err := checkConnectContentType(h.Get("content-type"), "application/connect+", hs.codecN); err != nil {
		return err
	}
	hs.header = responseMD(h, isConnectResponseHeader)
	if enc := h.Get("connect-content-encoding"); enc != "" && enc != "identity" {
		if hs.er.decomp = GetCompressor(enc); hs.er.decomp == nil {
			return status.Errorf(codes.Internal, "rpc: server used unsupported connect-content-encoding %q", enc)
		}
	}
	hs.er.r = resp.framed()
	hs.er.endFlag = connectEndStreamFlag
	return nil
}

// checkConnectContentType checks a response's content-type: UNKNOWN when
// it is not the protocol's at all (the response is not from a Connect
// server), INTERNAL when it names another codec than the request's.
func checkConnectContentType(ct, prefix, codec string) error {
	sub, ok := strings.CutPrefix(ct, prefix)
	if !ok {
		return status.Errorf(codes.Unknown, "rpc: unexpected content-type %q from the server", ct)
	}
	if mediaSubtype(sub) != codec {
		return status.Errorf(codes.Internal, "rpc: response content-type %q does not match the request's codec %q", ct, codec)
	}
	return nil
}

// isConnectResponseHeader: response fields of HTTP or Connect, not metadata.
func isConnectResponseHeader(k string) bool {
	return isHTTPResponseHeader(k) || strings.HasPrefix(k, "connect-")
}

func (connectStreamProtocol) endOfStream(_ *httpStream, payload []byte) (metadata.MD, error) {
	md, callErr, err := parseConnectEndStream(payload)
	if err != nil {
		return nil, err
	}
	if callErr == nil {
		return md, io.EOF
	}
	return md, callErr.status()
}

func (connectStreamProtocol) bodyEnded(*httpStream) error {
	return status.Error(codes.Internal, "rpc: Connect stream ended without its end-of-stream message")
}
