package rpc

import (
	"context"
	"errors"
	"strconv"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// sessionTransport carries the gRPC-Web and Connect calls of a client made
// without WithHTTPClient: HTTP/2 on the ClientConn's own sessions, so that
// those calls share gRPC's connection management (the target's addresses,
// WithContextDialer, TLS with ALPN h2, keepalive, reconnection) and its
// engine. A request goes out as the protocols built it, in one Request
// with its body when that is known whole, else written message by message
// straight to the stream, and the response is the stream's: no net/http
// request or response, no pipe and no goroutine of its own.
type sessionTransport struct{ cc *ClientConn }

func (t sessionTransport) roundTrip(hs *httpStream, resp *webResponse) error {
	st, err := t.open(hs, false)
	if err != nil {
		return err
	}
	err = awaitResponse(hs.ctx, st, resp)
	if errors.Is(err, h2.ErrUnprocessed) {
		hs.unprocessed = true // refused, or above a GOAWAY's last stream id
	}
	return err
}

// open sends hs.req's header, and its body when it is known whole; a
// streamed request (streamed) stays open for the caller's messages, which
// it writes to the stream itself (httpStream.SendMsg).
func (t sessionTransport) open(hs *httpStream, streamed bool) (*h2.Stream, error) {
	ctx, wr := hs.ctx, &hs.req
	// Placed as a gRPC call is: by the balancer, waiting for a ready
	// connection as the call's wait-for-ready says.
	sess, done, err := t.cc.pickConn(ctx, hs.method, hs.ci.waitForReady)
	if err != nil {
		return nil, err
	}
	hs.done = done
	// The stream is reset when ctx ends before it closed: a call given up
	// mid-exchange tells the server so.
	ro := h2.RequestOptions{ResetOnCancel: true}
	switch {
	case streamed:
	case len(wr.body) > 0 && wr.owned != nil:
		// Handed over as a gRPC call's request is (newClientStream): h2
		// sends a large body from where it is and gives the buffer back
		// once written, and the call goes on to wait for the response
		// instead of waiting first for the server to take the body.
		wr.add("content-length", strconv.Itoa(len(wr.body)))
		ro.OwnedBody, ro.Release, ro.EndStream = wr.owned, releaseSendBuf, true
		hs.bodyBP = nil // h2's now, given back by it
	case len(wr.body) > 0:
		wr.add("content-length", strconv.Itoa(len(wr.body)))
		ro.Body, ro.EndStream = wr.body, true
	default:
		ro.EndStream = true
	}
	st, err := sess.Request(ctx, wr.header, &ro)
	if err == nil && hs.ci.peer != nil {
		*hs.ci.peer = *peerOf(sess)
	}
	if err == nil && hs.stats.sh != nil {
		hs.evRequestSent(peerOf(sess), st)
	}
	if errors.Is(err, h2.ErrUnprocessed) || errors.Is(err, h2.ErrSessionClosed) {
		hs.unprocessed = true // nothing was sent: a retry is safe
	}
	if errors.Is(err, h2.ErrInvalidHeader) {
		// A method name or field HTTP cannot carry: a bug of the caller's,
		// as net/http's request would have said.
		return nil, status.Errorf(codes.Internal, "rpc: building the request: %v", err)
	}
	return st, err
}

// awaitResponse waits for st's response header and puts it in resp.
func awaitResponse(ctx context.Context, st *h2.Stream, resp *webResponse) error {
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
