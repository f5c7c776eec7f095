package rpc

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// gRPC (PROTOCOL-HTTP2): "application/grpc[+NAME]" over HTTP/2 only.
// Messages are 5-byte-prefixed envelopes (flag 1: compressed with
// grpc-encoding) in both directions; the request names its deadline in
// grpc-timeout and its compression in grpc-encoding; the response ends with
// HTTP/2 trailers grpc-status, grpc-message (percent-encoded) and
// grpc-status-details-bin (a google.rpc.Status), or with a trailers-only
// response: one header block holding all of them when nothing else was sent.

// grpcProtocol is gRPC's server half; the client's rules follow below.
type grpcProtocol struct{}

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

func (grpcProtocol) readHeader(ss *serverStream, req h2.Header) error {
	var timeout, enc string
	for _, f := range req {
		switch f.Name {
		case "grpc-timeout":
			timeout = f.Value
		case "grpc-encoding":
			enc = f.Value
		default:
			if err := checkBin(f); err != nil {
				return err
			}
		}
	}
	if timeout != "" {
		d, err := parseTimeout(timeout)
		if err != nil {
			return status.Errorf(codes.Internal, "rpc: malformed grpc-timeout %q", timeout)
		}
		ss.setTimeout(d)
	}
	return ss.setEncoding("grpc-encoding", enc)
}

func (grpcProtocol) isProtocolHeader(name string) bool { return isGRPCHeader(name) }

// isGRPCHeader: the request fields gRPC and gRPC-Web own.
func isGRPCHeader(name string) bool {
	switch name {
	case "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
		"grpc-status", "grpc-message", "grpc-status-details-bin":
		return true
	}
	return false
}

func (grpcProtocol) sendHeader(ss *serverStream) error {
	return ss.respond(grpcResponseHeader(ss, ss.codec.respHeader))
}

// grpcResponseHeader is the response's header block: base (":status" and
// content-type) alone, shared, unless the response is compressed or the
// handler set header metadata.
func grpcResponseHeader(ss *serverStream, base h2.Header) h2.Header {
	if ss.comp == nil && len(ss.header) == 0 {
		return base
	}
	hdr := make(h2.Header, 2, 3+len(ss.header))
	copy(hdr, base)
	if ss.comp != nil {
		hdr = append(hdr, h2.HeaderField{Name: "grpc-encoding", Value: ss.comp.Name()})
	}
	return appendMD(hdr, ss.header)
}

// finish sends the status: in trailers after a response header, or as a
// trailers-only response when nothing was sent yet.
func (grpcProtocol) finish(ss *serverStream, st *status.Status) {
	code := st.Code()
	headerOut := ss.headerSent || ss.last != nil // a header goes before the status
	if code == codes.OK && len(ss.trailer) == 0 {
		if !headerOut {
			// Trailers-only OK (e.g. a stream that sent nothing).
			t := make(h2.Header, 0, 3)
			t = append(t, ss.codec.respHeader...)
			t = append(t, trailerOK...)
			_ = ss.tr.respond(t, h2.RespondOptions{EndStream: true})
			return
		}
		grpcEndWith(ss, trailerOK)
		return
	}
	if !headerOut && len(ss.header) > 0 {
		// Header metadata the handler set goes in a header block of its
		// own, as grpc-go sends it: in a trailers-only response clients
		// would read it as trailer metadata.
		t := appendGRPCStatus(make(h2.Header, 0, 3+len(ss.trailer)), st)
		t = appendMD(t, ss.trailer)
		ss.headerGoesOut()
		_ = ss.tr.respond(grpcResponseHeader(ss, ss.codec.respHeader), h2.RespondOptions{Trailers: t})
		return
	}
	t := make(h2.Header, 0, 6+len(ss.trailer))
	if !headerOut {
		t = append(t, ss.codec.respHeader...)
		if ss.badEncoding {
			// The spec asks to tell the client what we do accept.
			t = append(t, h2.HeaderField{Name: "grpc-accept-encoding", Value: acceptEncodingHeader()})
		}
	}
	t = appendGRPCStatus(t, st)
	t = appendMD(t, ss.trailer)
	if !headerOut {
		ss.headerSent = true // trailers-only: no header event, as the client sees none
		_ = ss.tr.respond(t, h2.RespondOptions{EndStream: true})
		return
	}
	grpcEndWith(ss, t)
}

// appendGRPCStatus adds grpc-status, grpc-message and
// grpc-status-details-bin (gRPC-Web sends the same fields in its body).
func appendGRPCStatus(t h2.Header, st *status.Status) h2.Header {
	t = append(t, h2.HeaderField{Name: "grpc-status", Value: codeString(st.Code())})
	if msg := st.Message(); msg != "" {
		t = append(t, h2.HeaderField{Name: "grpc-message", Value: encodeGrpcMessage(msg)})
	}
	if p := st.Proto(); p != nil && len(p.Details) > 0 {
		if b, merr := p.Marshal(); merr == nil {
			t = append(t, h2.HeaderField{Name: "grpc-status-details-bin", Value: metadata.EncodeBin(string(b))})
		}
	}
	return t
}

// grpcEndWith ends the response with trailers t, after the unary response
// that sendLast holds if any: then the whole response is one call into
// the transport instead of three. On our own engine the message's buffer is
// handed over (EndOwned, RespondOptions.OwnedBody): a large one is sent
// from where it is and given back once written, and the handler's
// goroutine is free at once instead of waiting for the kernel to take it.
func grpcEndWith(ss *serverStream, t h2.Header) {
	bp := ss.last
	ss.last = nil
	h2t, owned := ss.tr.(h2Transport)
	switch {
	case bp == nil:
		_ = ss.tr.WriteTrailers(t)
		return
	case ss.headerSent && owned:
		_, _ = h2t.EndOwned(bp, releaseSendBuf, t)
		return
	case ss.headerSent:
		_, _ = ss.tr.End(*bp, t)
	case owned:
		ss.headerGoesOut()
		_ = ss.tr.respond(grpcResponseHeader(ss, ss.codec.respHeader), h2.RespondOptions{OwnedBody: bp, Release: releaseSendBuf, Trailers: t})
		return
	default:
		ss.headerGoesOut()
		_ = ss.tr.respond(grpcResponseHeader(ss, ss.codec.respHeader), h2.RespondOptions{Body: *bp, Trailers: t})
	}
	sendBufs.put(bp)
}

// The client's half of gRPC.

// requestHeader builds the request headers; they are reused by retries. They
// may be shared with other calls (baseRequestHeader): never modify them.
func (cc *ClientConn) requestHeader(ctx context.Context, method, contentType string, comp Compressor) (h2.Header, error) {
	hdr := cc.baseRequestHeader(method, contentType)
	if comp != nil {
		hdr = append(hdr, h2.HeaderField{Name: "grpc-encoding", Value: comp.Name()})
	}
	if dl, ok := ctx.Deadline(); ok {
		d := time.Until(dl)
		if d <= 0 {
			return nil, status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
		}
		hdr = append(hdr, h2.HeaderField{Name: "grpc-timeout", Value: formatTimeout(d)})
	}
	var mdErr error
	metadata.RangeOutgoing(ctx, func(k, v string) {
		k = strings.ToLower(k)
		if mdErr != nil {
			return
		}
		if err := metadata.ValidateKey(k); err != nil {
			mdErr = err
			return
		}
		if reservedHeader(k) {
			return
		}
		if metadata.IsBinKey(k) {
			v = metadata.EncodeBin(v)
		} else if err := metadata.ValidateValue(k, v); err != nil {
			mdErr = err
			return
		}
		hdr = append(hdr, h2.HeaderField{Name: k, Value: v})
	})
	if mdErr != nil {
		return nil, status.Errorf(codes.Internal, "rpc: invalid outgoing metadata: %v", mdErr)
	}
	return hdr, nil
}

// headerMD extracts user metadata from a received header block.
func headerMD(h h2.Header) metadata.MD {
	var md metadata.MD
	for _, f := range h {
		n := f.Name
		if n == "" || n[0] == ':' || n == "content-type" || strings.HasPrefix(n, "grpc-") {
			continue
		}
		md = addReceivedMD(md, n, f.Value)
	}
	return md
}

// addReceivedMD adds one received value under key k (lowercase) to md,
// which it makes on first use: -bin values are base64-decoded, and a
// corrupt one is dropped rather than failing the call.
func addReceivedMD(md metadata.MD, k, v string) metadata.MD {
	if metadata.IsBinKey(k) {
		d, err := metadata.DecodeBin(v)
		if err != nil {
			return md
		}
		v = d
	}
	if md == nil {
		md = make(metadata.MD)
	}
	md[k] = append(md[k], v)
	return md
}

// grpcCheckResponse checks that a response's header block is a gRPC
// response: a status other than 200 without grpc-status is an HTTP error
// (a proxy's, say) mapped per the spec's table, and a content-type other
// than gRPC's is INTERNAL.
func grpcCheckResponse(h h2.Header) error {
	if hs := h.Get(":status"); hs != "200" {
		n, _ := strconv.Atoi(hs)
		if h.Get("grpc-status") == "" {
			return status.Errorf(httpStatusToCode(n), "rpc: unexpected HTTP status %s from the server", hs)
		}
	}
	if ct := h.Get("content-type"); !strings.HasPrefix(ct, "application/grpc") {
		// UNKNOWN, as the gRPC spec and the Connect conformance suite
		// want for a 200 answer that is not gRPC at all.
		return status.Errorf(codes.Unknown, "rpc: unexpected content-type %q from the server", ct)
	}
	return nil
}

// grpcResponseCompressor is the compressor a response's grpc-encoding
// names (nil for none): one we lack is INTERNAL.
func grpcResponseCompressor(h h2.Header) (Compressor, error) {
	enc := h.Get("grpc-encoding")
	if enc == "" || enc == "identity" {
		return nil, nil
	}
	if c := GetCompressor(enc); c != nil {
		return c, nil
	}
	return nil, status.Errorf(codes.Internal, "rpc: server used unsupported grpc-encoding %q", enc)
}

// statusFrom reads grpc-status, grpc-message and grpc-status-details-bin.
func (cs *clientStream) statusFrom(t h2.Header) error {
	cs.trailer = headerMD(t)
	err := grpcStatusFrom(t)
	cs.evInTrailer(err)
	return err
}

// grpcStatusFrom is the status a block of gRPC trailers carries: io.EOF for
// OK, else a status error (details kept when their code agrees).
func grpcStatusFrom(t h2.Header) error {
	s := t.Get("grpc-status")
	if s == "" {
		return status.Error(codes.Internal, "rpc: server ended the call without grpc-status")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return status.Errorf(codes.Internal, "rpc: malformed grpc-status %q", s)
	}
	code := codes.Code(n)
	if code == codes.OK {
		return io.EOF
	}
	msg := decodeGrpcMessage(t.Get("grpc-message"))
	if d := t.Get("grpc-status-details-bin"); d != "" {
		if raw, err := metadata.DecodeBin(d); err == nil {
			var p status.Proto
			if p.Unmarshal([]byte(raw)) == nil && codes.Code(p.Code) == code {
				return status.FromProto(&p).Err()
			}
		}
	}
	return status.Error(code, msg)
}
