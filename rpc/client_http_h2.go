package rpc

import (
	"errors"
	"io"
	"strconv"

	"github.com/h2rpc/h2rpc/h2"
)

// sessionTransport carries the gRPC-Web and Connect calls of a client made
// without WithHTTPClient: HTTP/2 on the ClientConn's own sessions, so that
// those calls share gRPC's connection management (the target's addresses,
// WithContextDialer, TLS with ALPN h2, keepalive, reconnection) and its
// engine. A request goes out as the protocols built it, in one Request
// with its body when that is known whole, and the response is the stream's:
// no net/http request or response is made.
type sessionTransport struct{ cc *ClientConn }

func (t sessionTransport) roundTrip(hs *httpStream, resp *webResponse) error {
	ctx, wr := hs.ctx, &hs.req
	sess, err := t.cc.pick(ctx, false)
	if err != nil {
		closeRequestStream(wr)
		return err
	}
	// The stream is reset when ctx ends before it closed: a call given up
	// mid-exchange tells the server so.
	ro := h2.RequestOptions{ResetOnCancel: true}
	switch {
	case wr.stream != nil:
	case len(wr.body) > 0:
		wr.add("content-length", strconv.Itoa(len(wr.body)))
		ro.Body, ro.EndStream = wr.body, true
	default:
		ro.EndStream = true
	}
	st, err := sess.Request(ctx, wr.header, &ro)
	if err != nil {
		closeRequestStream(wr)
		return err
	}
	if wr.stream != nil {
		go copyRequestBody(st, wr.stream)
	}
	h, err := st.Response(ctx)
	if err != nil {
		st.Reset(h2.ErrCodeCancel)
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	code, err := strconv.Atoi(h.Get(":status"))
	if err != nil {
		st.Reset(h2.ErrCodeProtocol)
		return errors.New("rpc: malformed :status in the response")
	}
	*resp = webResponse{code: code, header: h, st: st}
	return nil
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

// closeRequestStream releases a streamed request body that will not be
// sent.
func closeRequestStream(wr *webRequest) {
	if wr.stream != nil {
		_ = wr.stream.Close()
	}
}
