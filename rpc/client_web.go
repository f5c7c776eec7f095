package rpc

import (
	"io"
	"net/http"
	"strconv"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/metadata"
)

// A gRPC-Web or Connect call (httpStream) builds its request and reads its
// response in h2's terms, whatever carries them: the ClientConn's own
// sessions (sessionTransport, client_http_h2.go), which send and receive
// them as they are, or an HTTPClient (httpClientTransport,
// client_http_nethttp.go), which converts them to net/http's and back. The
// protocols' code (protocol_grpcweb.go, protocol_connect*.go) is the same
// for both, and the native path pays for no net/http value.

// webTransport carries a call's HTTP exchange.
type webTransport interface {
	// roundTrip sends hs.req and waits for the response header, which it
	// puts in resp; an error is the exchange's (the caller maps it to a
	// status, httpError). On success resp.close must be called once.
	roundTrip(hs *httpStream, resp *webResponse) error
}

// webRequest is a call's request: the header list with its pseudo-header
// fields first (:method, :scheme, :path, :authority, in that order) and the
// caller's metadata and the protocol's fields after them, lower case; and
// the body, known whole or streamed.
type webRequest struct {
	header h2.Header
	body   []byte        // the whole body, sent with the header; nil for none
	owned  *[]byte       // body's pooled buffer when body is all of it: the client's own sessions take it over
	stream io.ReadCloser // through an HTTPClient, a body the caller writes as the call goes (client streaming); nil when whole
}

// Positions of the pseudo-header fields newRequest puts first.
const (
	webReqMethod = 0
	webReqPath   = 2
)

// setGet makes the request a GET with query (Connect unary GET).
func (r *webRequest) setGet(query string) {
	r.header[webReqMethod].Value = http.MethodGet
	r.header[webReqPath].Value += "?" + query
}

// add appends a field; name must be lower case.
func (r *webRequest) add(name, value string) {
	r.header = append(r.header, h2.HeaderField{Name: name, Value: value})
}

// webResponse is a response's header and the means to read and end its
// body: an h2 stream on the native path, net/http's response through an
// HTTPClient.
type webResponse struct {
	code   int
	header h2.Header // lower-case names; pseudo-header fields, if any, first
	http1  bool      // carried by HTTP/1.x (no full duplex)
	st     *h2.Stream
	h1     *http1RespBody // WithHTTP1's
	hr     *http.Response
}

// statusText is the status as net/http writes it ("404 Not Found"), for
// error messages.
func (r *webResponse) statusText() string {
	return strconv.Itoa(r.code) + " " + http.StatusText(r.code)
}

// protoName is the HTTP version that carried the response, for errors.
func (r *webResponse) protoName() string {
	switch {
	case r.hr != nil:
		return r.hr.Proto
	case r.h1 != nil:
		return "HTTP/1.1"
	}
	return "HTTP/2.0"
}

// body is the response body, for reads of whole bodies.
func (r *webResponse) body() io.Reader {
	switch {
	case r.st != nil:
		return r.st
	case r.h1 != nil:
		return r.h1
	}
	return r.hr.Body
}

// framed is the response body for the envelope reader: the h2 stream
// itself, which lands a message in one buffer with one wake-up.
func (r *webResponse) framed() framedReader {
	if r.st != nil {
		return r.st
	}
	return ioFramedReader{r: r.body()}
}

// trailers are the response's HTTP trailers, once its body has ended.
func (r *webResponse) trailers() h2.Header {
	switch {
	case r.st != nil:
		return r.st.Trailers()
	case r.h1 != nil:
		return r.h1.trailer
	}
	return headerFromHTTP(r.hr.Trailer)
}

// close gives up on what is left of the response: an h2 stream not yet
// ended is reset, as net/http does when a body is closed early.
func (r *webResponse) close() {
	switch {
	case r.st != nil:
		if !r.st.InboundEnded() {
			r.st.Reset(h2.ErrCodeCancel)
		}
	case r.h1 != nil:
		_ = r.h1.Close()
	case r.hr != nil:
		_ = r.hr.Body.Close()
	}
}

// headerFromHTTP is h in an h2 header list, names lower case. Unlike
// h2.HeaderFromHTTP it keeps every field: metadata may be named anything,
// and which fields are not metadata the protocols decide.
func headerFromHTTP(h http.Header) h2.Header {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	out := make(h2.Header, 0, n)
	for k, vs := range h {
		k = lowerName(k)
		for _, v := range vs {
			out = append(out, h2.HeaderField{Name: k, Value: v})
		}
	}
	return out
}

// responseMD is the caller's metadata in a response's header: every field
// but pseudo-header fields and those of HTTP and of the protocol (skip);
// binary values decoded.
func responseMD(h h2.Header, skip func(string) bool) metadata.MD {
	var md metadata.MD
	for _, f := range h {
		if f.Name == "" || f.Name[0] == ':' || skip(f.Name) {
			continue
		}
		md = addReceivedMD(md, f.Name, f.Value)
	}
	return md
}
