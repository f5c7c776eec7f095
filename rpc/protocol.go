package rpc

import (
	"context"
	"io"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// A server speaks three wire protocols, chosen per request by its
// content-type (protocolFor): gRPC, gRPC-Web and Connect. Each lives in a
// file of its own with both of its directions side by side
// (protocol_grpc.go, protocol_grpcweb.go, protocol_connect.go). The call
// itself (serverStream: the handler, metadata, codec, limits, deadline) is
// the same whatever the protocol; a protocol only says how the request's
// own headers read and how the response's header, messages and status are
// framed. See docs/protocols.md.

// serverProtocol is one protocol's server half.
type serverProtocol interface {
	// readHeader reads the protocol's own request fields (timeout,
	// compression, version) into ss; a returned error fails the call.
	readHeader(ss *serverStream, req h2.Header) error
	// isProtocolHeader reports request fields that belong to the protocol
	// and are not the caller's metadata.
	isProtocolHeader(name string) bool
	// sendHeader sends the response header now (SendHeader, or the first
	// message of a stream). A protocol that can only send its header with
	// the status (Connect unary) does nothing.
	sendHeader(ss *serverStream) error
	// finish ends the response with the call's status and trailer
	// metadata, after the unary response ss.last holds, if any.
	finish(ss *serverStream, st *status.Status)
}

// protocolID names a protocol in the per-call state in one byte (the
// state stays in the allocation size class it had before there were three).
type protocolID uint8

const (
	protoGRPC protocolID = iota
	protoGRPCWeb
	protoGRPCWebText
	protoConnectUnary
	protoConnectGet
	protoConnectStream
)

// protocols are the server halves by ID.
var protocols = [...]serverProtocol{
	protoGRPC:          grpcProtocol{},
	protoGRPCWeb:       grpcWebProtocol{},
	protoGRPCWebText:   grpcWebProtocol{text: true},
	protoConnectUnary:  connectUnaryProtocol{},
	protoConnectGet:    connectGetProtocol{},
	protoConnectStream: connectStreamProtocol{},
}

// protocolNames are the names RequestInfo gives, by ID.
var protocolNames = [...]string{
	protoGRPC: "grpc", protoGRPCWeb: "grpc-web", protoGRPCWebText: "grpc-web",
	protoConnectUnary: "connect", protoConnectGet: "connect", protoConnectStream: "connect",
}

// serverTransport is where a call's request comes from and its response
// goes: an h2.Stream on our own engine (Serve, h2Transport), or net/http's
// request and response writer (ServeHTTP, server_http.go). The methods are
// h2.Stream's, but for respond, whose options go by value: through an
// interface a pointer would make every call allocate them.
type serverTransport interface {
	framedReader
	io.Reader
	Context() context.Context
	respond(hdr h2.Header, opts h2.RespondOptions) error
	Write(p []byte) (int, error)
	End(p []byte, trailers h2.Header) (int, error)
	WriteTrailers(t h2.Header) error
}

// h2Transport is a call's transport on our own engine: the stream itself.
// A struct of one pointer, so it goes into the interface without an
// allocation.
type h2Transport struct{ *h2.Stream }

func (t h2Transport) respond(hdr h2.Header, opts h2.RespondOptions) error {
	return t.Respond(hdr, &opts)
}

// protocolFor picks the protocol and codec from a request's method and
// content-type. A non-zero status means the request is none of ours, or
// names a codec we lack: the caller answers with that HTTP status (405 or
// 415), as the specs ask, so that the client sees a plain HTTP error rather
// than a body it would misread.
func protocolFor(method, ct string) (protocolID, *codecEntry, int) {
	switch {
	case strings.HasPrefix(ct, "application/grpc-web"):
		p, ce := grpcWebFor(ct)
		if ce == nil {
			return 0, nil, 415
		}
		if method != "POST" {
			return 0, nil, 405
		}
		return p, ce, 0
	case strings.HasPrefix(ct, "application/grpc"):
		ce := codecForContentType(ct)
		if ce == nil {
			return 0, nil, 415
		}
		if method != "POST" {
			return 0, nil, 405
		}
		return protoGRPC, ce, 0
	case strings.HasPrefix(ct, "application/connect+"):
		ce := codecEntryFor(mediaSubtype(ct[len("application/connect+"):]))
		if ce == nil {
			return 0, nil, 415
		}
		if method != "POST" {
			return 0, nil, 405
		}
		return protoConnectStream, ce, 0
	case method == "GET":
		// Connect's GET carries its codec in the query; whether the method
		// may be called so is known once it is found (checkMethod).
		return protoConnectGet, nil, 0
	case strings.HasPrefix(ct, "application/"):
		ce := codecEntryFor(mediaSubtype(ct[len("application/"):]))
		if ce == nil {
			return 0, nil, 415
		}
		if method != "POST" {
			return 0, nil, 405
		}
		return protoConnectUnary, ce, 0
	}
	if method != "POST" {
		return 0, nil, 405
	}
	return 0, nil, 415
}

// mediaSubtype is the codec name in what follows a media type's prefix:
// parameters after ';' dropped, lower case (media types are
// case-insensitive; only names not already lower case pay for it).
func mediaSubtype(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// endInBody ends a response whose status travels in its body (gRPC-Web's
// trailer envelope, Connect's end-of-stream message): bp holds the rest of
// it, sent with the response header when none went out yet, and is given
// back (respondOwning). A request whose compression we lack is told which
// we accept, in acceptField.
func endInBody(ss *serverStream, bp *[]byte, responseHeader func(*serverStream) h2.Header, acceptField string) {
	if ss.headerSent {
		if t, owned := ss.tr.(h2Transport); owned {
			_, _ = t.EndOwned(bp, releaseSendBuf, nil)
			return
		}
		_, _ = ss.tr.End(*bp, nil)
		sendBufs.put(bp)
		return
	}
	hdr := responseHeader(ss)
	if ss.badEncoding {
		hdr = append(hdr, h2.HeaderField{Name: acceptField, Value: acceptEncodingHeader()})
	}
	ss.headerGoesOut()
	respondOwning(ss, hdr, bp)
}

// respondOwning sends the whole response, hdr and the body in bp (a
// sendBufs buffer), and gives bp back. On our own engine the buffer is
// handed over (RespondOptions.OwnedBody), as gRPC's unary response is
// (grpcEndWith): a large body goes out from where it is and the buffer
// comes back once written, so the handler's goroutine is free at once
// instead of waiting for a slow reader's flow-control window. The other
// transports copy the body before respond returns.
func respondOwning(ss *serverStream, hdr h2.Header, bp *[]byte) {
	if _, owned := ss.tr.(h2Transport); owned {
		_ = ss.tr.respond(hdr, h2.RespondOptions{OwnedBody: bp, Release: releaseSendBuf})
		return
	}
	_ = ss.tr.respond(hdr, h2.RespondOptions{Body: *bp})
	sendBufs.put(bp)
}
