package rpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/h2rpc/h2rpc/h2"
)

// sessionTransport is the http.RoundTripper of a gRPC-Web or Connect
// client made without WithHTTPClient: HTTP/2 on the ClientConn's own
// sessions, so that those calls share gRPC's connection management (the
// target's addresses, WithContextDialer, TLS with ALPN h2, keepalive,
// reconnection) and its engine.
type sessionTransport struct{ cc *ClientConn }

// Do makes the exchange without http.Client's redirects and timers: calls
// have their own deadlines and are never redirected.
func (t sessionTransport) Do(req *http.Request) (*http.Response, error) { return t.RoundTrip(req) }

func (t sessionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	sess, err := t.cc.pick(ctx, false)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	hdr := make(h2.Header, 0, 5+len(req.Header))
	hdr = append(hdr,
		h2.HeaderField{Name: ":method", Value: req.Method},
		h2.HeaderField{Name: ":scheme", Value: t.cc.scheme},
		h2.HeaderField{Name: ":path", Value: req.URL.RequestURI()},
		h2.HeaderField{Name: ":authority", Value: t.cc.authority},
	)
	hdr = h2.AppendHTTPHeader(hdr, req.Header)
	// A request whose body is known (unary calls: the body is a
	// bytes.Reader) goes out with its headers in one step; a streamed one
	// is copied from its reader as the caller writes it.
	var ro h2.RequestOptions
	streamed := false
	switch body := req.Body.(type) {
	case nil:
		ro.EndStream = true
	case *requestBody:
		ro.Body, ro.EndStream = body.b, true
		if len(body.b) > 0 {
			hdr = append(hdr, h2.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body.b))})
		}
	default:
		if req.GetBody != nil && req.ContentLength >= 0 {
			b, err := io.ReadAll(body)
			closeBody(req)
			if err != nil {
				return nil, err
			}
			ro.Body, ro.EndStream = b, true
			if len(b) > 0 {
				hdr = append(hdr, h2.HeaderField{Name: "content-length", Value: strconv.Itoa(len(b))})
			}
		} else {
			streamed = true
		}
	}
	st, err := sess.Request(ctx, hdr, &ro)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	stop := func() bool { return false }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { st.Reset(h2.ErrCodeCancel) })
	}
	if streamed {
		go copyRequestBody(st, req.Body)
	}
	h, err := st.Response(ctx)
	if err != nil {
		stop()
		st.Reset(h2.ErrCodeCancel)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	code, err := strconv.Atoi(h.Get(":status"))
	if err != nil {
		stop()
		st.Reset(h2.ErrCodeProtocol)
		return nil, errors.New("rpc: malformed :status in the response")
	}
	resp := &http.Response{
		Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
		Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: h.HTTP(), Trailer: make(http.Header), ContentLength: -1, Request: req,
	}
	resp.Body = &sessionBody{st: st, stop: stop, trailer: resp.Trailer}
	return resp, nil
}

// copyRequestBody streams a request body into st, then ends the request;
// a failed read resets the stream (the call has ended).
func copyRequestBody(st *h2.Stream, body io.ReadCloser) {
	defer body.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := st.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err == io.EOF {
			_ = st.CloseWrite()
			return
		}
		if err != nil {
			st.Reset(h2.ErrCodeCancel)
			return
		}
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// sessionBody is a response body read from an h2 stream; at its end the
// stream's trailers fill the response's Trailer.
type sessionBody struct {
	st      *h2.Stream
	stop    func() bool
	trailer http.Header
	once    sync.Once
	ended   bool
}

func (b *sessionBody) Read(p []byte) (int, error) {
	n, err := b.st.Read(p)
	if err == io.EOF && !b.ended {
		b.ended = true
		for k, vs := range b.st.Trailers().HTTP() {
			b.trailer[k] = vs
		}
	}
	return n, err
}

// Close gives up on what is left of the response: a stream not yet ended
// is reset, as net/http does.
func (b *sessionBody) Close() error {
	b.once.Do(func() {
		b.stop()
		if !b.st.InboundEnded() {
			b.st.Reset(h2.ErrCodeCancel)
		}
	})
	return nil
}
