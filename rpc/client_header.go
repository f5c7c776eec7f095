package rpc

import (
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/h2"
)

// The request headers every gRPC call on a ClientConn starts with are the
// same for a method and content type: they are built once and shared by the
// calls, read-only (a slice without spare capacity, so that what a call adds,
// grpc-timeout, metadata, credentials, goes to a copy). A call without
// additions sends the shared slice itself: one allocation of ten fields fewer
// per call.

// maxCachedHeaders bounds the methods remembered per ClientConn; a client
// calling more (a proxy passing any method through) builds the rest per call.
const maxCachedHeaders = 256

// requestHeaders is a ClientConn's copy-on-write cache of base request
// headers by method.
type requestHeaders struct {
	m  atomic.Pointer[map[string]h2.Header]
	mu sync.Mutex // serializes additions
}

// baseRequestHeader returns the request headers of a call to method with contentType,
// before the call's own additions: shared when possible, so never to be
// modified.
func (cc *ClientConn) baseRequestHeader(method, contentType string) h2.Header {
	accept := acceptEncodingHeader()
	if m := cc.headers.m.Load(); m != nil {
		// A compressor registered since, or another codec for this method,
		// makes a different list: built anew, and the first one stays.
		if h, ok := (*m)[method]; ok && h[4].Value == contentType && h[7].Value == accept {
			return h
		}
	}
	h := h2.Header{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: cc.scheme},
		{Name: ":path", Value: method},
		{Name: ":authority", Value: cc.authority},
		{Name: "content-type", Value: contentType},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: cc.userAgent},
		{Name: "grpc-accept-encoding", Value: accept},
	}
	cc.headers.remember(method, h)
	return h
}

// remember adds h under method while the cache has room.
func (c *requestHeaders) remember(method string, h h2.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[string]h2.Header
	if p := c.m.Load(); p != nil {
		old = *p
	}
	if _, ok := old[method]; ok || len(old) >= maxCachedHeaders {
		return
	}
	m := make(map[string]h2.Header, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[method] = h
	c.m.Store(&m)
}
