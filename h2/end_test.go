package h2

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEndPutsEndStreamOnTheData: End(p, nil) sends the body and END_STREAM
// in one DATA frame, where Write then CloseWrite may need an empty one.
func TestEndPutsEndStreamOnTheData(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	n, err := st.End([]byte("hello"), nil)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	p.expectHeaders(1)
	data, seen := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && f.StreamID == 1 })
	require.Empty(t, seen, "nothing between the request headers and its data")
	require.Equal(t, "hello", string(data.Payload))
	require.True(t, data.Flags.Has(FlagEndStream), "END_STREAM rides on the body's frame")

	_, err = st.Write([]byte("more"))
	require.ErrorIs(t, err, ErrStreamClosed)
	_, err = st.End(nil, nil)
	require.NoError(t, err, "ending twice is allowed, like CloseWrite")
}

// TestEndWithTrailers: a server's End(p, trailers) sends the body, then the
// trailers with END_STREAM; the client sees both.
func TestEndWithTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_, _ = io.ReadAll(st)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = st.End([]byte("body"), Header{{Name: "grpc-status", Value: "0"}})
	})}, nil)
	_, body, trailers := getAll(t, c)
	require.Equal(t, "body", body)
	require.Equal(t, "0", trailers.Get("grpc-status"))
}

// TestEndRespondsFirstAndRejectsPseudoTrailers: End on a server stream that
// has not responded sends ":status 200" first (as Write does), and trailers
// may not carry pseudo-headers.
func TestEndRespondsFirstAndRejectsPseudoTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	endErr := make(chan error, 1)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_, err := st.End([]byte("x"), Header{{Name: ":status", Value: "500"}})
		endErr <- err
		_, _ = st.End([]byte("ok"), nil)
	})}, nil)
	h, body, _ := getAll(t, c)
	require.Equal(t, "200", h.Get(":status"))
	require.Equal(t, "ok", body)
	require.ErrorContains(t, <-endErr, "pseudo-header")
}

// TestRespondWithBody: Respond with a Body (and no trailers) sends the
// headers, then the body with END_STREAM on its DATA frame, in one step.
func TestRespondWithBody(t *testing.T) {
	goroutineLeakCheck(t)
	p := newTCPServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: "content-type", Value: "text/plain"}}, &RespondOptions{Body: []byte("whole")})
	})})
	p.handshake()
	p.startReader()
	p.request(1, true)
	h := p.expectHeaders(1)
	require.False(t, h.Flags.Has(FlagEndStream))
	require.Equal(t, "200", h.Fields.Get(":status"))
	data, _ := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && f.StreamID == 1 })
	require.Equal(t, "whole", string(data.Payload))
	require.True(t, data.Flags.Has(FlagEndStream))
}

// TestRespondWithBodyAndTrailers: the client gets the header, the body and
// the trailers of a response made by one Respond call.
func TestRespondWithBodyAndTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		err := st.Respond(nil, &RespondOptions{Body: []byte("b"), Trailers: Header{{Name: ":bad", Value: "x"}}})
		if err == nil {
			st.Reset(ErrCodeInternal) // pseudo-header trailers must be refused
			return
		}
		_ = st.Respond(nil, &RespondOptions{Body: []byte("body"), Trailers: Header{{Name: "x-sum", Value: "4"}}})
	})}, nil)
	h, body, trailers := getAll(t, c)
	require.Equal(t, "200", h.Get(":status"))
	require.Equal(t, "body", body)
	require.Equal(t, "4", trailers.Get("x-sum"))
}

// getAll sends a GET without a body on c and returns the response's header,
// body and trailers.
func getAll(t *testing.T, c *Session) (Header, string, Header) {
	t.Helper()
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	b, err := io.ReadAll(st)
	require.NoError(t, err)
	return h, string(b), st.Trailers()
}

// TestEndOnAResetStream: End on a stream the peer reset reports the reset
// instead of ending it.
func TestEndOnAResetStream(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	p.mustWrite(appendRSTStream(nil, 1, ErrCodeCancel))
	_, err = st.Response(ctxT(t))
	require.Error(t, err)
	_, err = st.End([]byte("late"), nil)
	var se *StreamError
	require.ErrorAs(t, err, &se)
	require.Equal(t, ErrCodeCancel, se.Code)
}

// A request with RequestOptions.Body is the headers, then the body with
// END_STREAM on its DATA frame, from one call.
func TestRequestWithBody(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), post("/"), &RequestOptions{Body: []byte("hello"), EndStream: true})
	require.NoError(t, err)
	hf := p.expectHeaders(1)
	require.False(t, hf.Flags.Has(FlagEndStream), "END_STREAM goes on the body, not the headers")
	data, seen := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && f.StreamID == 1 })
	require.Empty(t, seen, "nothing between the request headers and its data")
	require.Equal(t, "hello", string(data.Payload))
	require.True(t, data.Flags.Has(FlagEndStream))
	_, err = st.Write([]byte("more"))
	require.ErrorIs(t, err, ErrStreamClosed)

	// Without EndStream the stream stays open for more.
	st, err = p.sess.Request(ctxT(t), post("/"), &RequestOptions{Body: []byte("one")})
	require.NoError(t, err)
	_, err = st.End([]byte("two"), nil)
	require.NoError(t, err)
	p.expectHeaders(3)
	body := p.body(3)
	require.Equal(t, "onetwo", string(body))
}

// A large body is lent to the writer, and Request returns once it is
// framed: the writer must be awake for the headers before that.
func TestRequestWithALargeBody(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		b, _ := io.ReadAll(st)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, &RespondOptions{Body: []byte(strconv.Itoa(len(b)))})
	})}, nil)
	_, err := c.Ping(ctxT(t), [8]byte{}) // the session is settled and quiet:
	require.NoError(t, err)              // nothing else will wake the writer
	time.Sleep(20 * time.Millisecond)
	body := make([]byte, 300<<10)
	type res struct {
		st  *Stream
		err error
	}
	done := make(chan res, 1)
	go func() {
		st, err := c.Request(ctxT(t), post("/"), &RequestOptions{Body: body, EndStream: true})
		done <- res{st, err}
	}()
	var st *Stream
	select {
	case r := <-done:
		require.NoError(t, r.err)
		st = r.st
	case <-time.After(waitLong):
		t.Fatal("Request with a large body never returned")
	}
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	got, err := io.ReadAll(st)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(len(body)), string(got))
}

// A request whose body cannot all be sent, because the peer resets the
// stream while the body waits for flow control, fails with the reset; no
// RST_STREAM answers the peer's, and no stream is left open.
func TestRequestWithBodyResetByThePeer(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake(Setting{SettingInitialWindowSize, 1000})
	done := make(chan error, 1)
	go func() {
		_, err := p.sess.Request(ctxT(t), post("/"), &RequestOptions{Body: make([]byte, 100<<10), EndStream: true})
		done <- err
	}()
	p.expectHeaders(1)
	p.mustWrite(appendRSTStream(nil, 1, ErrCodeCancel))
	select {
	case err := <-done:
		var se *StreamError
		require.ErrorAs(t, err, &se)
		require.Equal(t, ErrCodeCancel, se.Code)
	case <-time.After(waitLong):
		t.Fatal("Request waited on after the reset")
	}
	p.mustWrite(AppendPing(nil, false, [8]byte{7}))
	_, seen := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
	for _, f := range seen {
		require.NotEqual(t, FrameRSTStream, f.Type, "RST_STREAM in answer to RST_STREAM")
	}
	require.Zero(t, p.sess.State().OpenStreams)
}
