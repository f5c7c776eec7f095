package h2

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// TestSentHeadersAndEndAfterHeaders: what each side sent (Node's
// sentHeaders, sentInfoHeaders, sentTrailers) and whether the peer's HEADERS
// ended the stream (endAfterHeaders), on both ends of two requests.
func TestSentHeadersAndEndAfterHeaders(t *testing.T) {
	goroutineLeakCheck(t)
	type seen struct {
		before             Header
		endAfter           bool
		st                 *Stream
		infoBeforeResponse []Header
	}
	served := make(chan seen, 2)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		got := seen{before: st.SentHeaders(), endAfter: st.EndAfterHeaders(), st: st}
		if st.Path() == "/empty" {
			_, _ = io.Copy(io.Discard, st)
			_ = st.Respond(nil, &RespondOptions{EndStream: true})
			served <- got
			return
		}
		_ = st.SendInformational(Header{{Name: ":status", Value: "103"}, {Name: "link", Value: "</a>"}})
		got.infoBeforeResponse = st.SentInfoHeaders()
		_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x-a", Value: "1"}},
			&RespondOptions{Body: []byte("body"), Trailers: Header{{Name: "x-t", Value: "2"}}})
		served <- got
	})}, nil)

	// A GET with END_STREAM on its HEADERS, the pseudo-headers filled in.
	st, err := c.Request(ctxT(t), Header{{Name: ":path", Value: "/full"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	sent := st.SentHeaders()
	require.Equal(t, "GET", sent.Get(":method"), "Node's default method, as sent")
	require.Equal(t, "http", sent.Get(":scheme"))
	require.Equal(t, "/full", sent.Get(":path"))
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	_, err = io.ReadAll(st)
	require.NoError(t, err)
	require.False(t, st.EndAfterHeaders(), "the response had a body")
	require.Nil(t, st.SentInfoHeaders(), "a client sends no 1xx")
	require.Nil(t, st.SentTrailers(), "the request ended without trailers")
	require.Len(t, st.Informational(), 1, "the client received the 103")

	got := <-served
	require.Nil(t, got.before, "nothing sent before Respond")
	require.True(t, got.endAfter, "the GET's HEADERS carried END_STREAM")
	require.Len(t, got.infoBeforeResponse, 1)
	require.Equal(t, "</a>", got.infoBeforeResponse[0].Get("link"))
	require.Equal(t, "1", got.st.SentHeaders().Get("x-a"))
	require.Equal(t, "200", got.st.SentHeaders().Get(":status"))
	require.Eventually(t, got.st.Closed, waitLong, 1e6)
	require.Equal(t, "2", got.st.SentTrailers().Get("x-t"))
	require.Nil(t, got.st.Informational(), "a server receives no 1xx")

	// A POST with a body, answered by HEADERS with END_STREAM.
	st, err = c.Request(ctxT(t), post("/empty"), &RequestOptions{EndStream: true, Body: []byte("x")})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	require.True(t, st.EndAfterHeaders(), "the response's HEADERS carried END_STREAM")
	got = <-served
	require.False(t, got.endAfter, "the POST had a body")
	require.Eventually(t, got.st.Closed, waitLong, 1e6)
	require.Nil(t, got.st.SentTrailers())
	require.Nil(t, got.st.SentInfoHeaders())
}

// TestMaxSendHeaderBlockLength: a header block that could encode longer
// than the limit is refused before anything of it goes out (the next
// request is still stream 1), on a client's request and a server's
// response and trailers.
func TestMaxSendHeaderBlockLength(t *testing.T) {
	goroutineLeakCheck(t)
	long := strings.Repeat("v", 300)
	p := newClientPeer(t, &ClientOptions{Options: Options{MaxSendHeaderBlockLength: 256}})
	p.serverHandshake()
	_, err := p.sess.Request(ctxT(t), Header{{Name: ":path", Value: "/"}, {Name: "x-long", Value: long}}, &RequestOptions{EndStream: true})
	require.ErrorIs(t, err, ErrHeaderBlockTooLong)
	require.NotErrorIs(t, err, ErrInvalidHeader)
	var he *HeaderError
	require.True(t, errors.As(err, &he))
	require.Equal(t, "request headers", he.Kind)
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":path", Value: "/"}, {Name: "x-short", Value: "v"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.Equal(t, uint32(1), st.ID())
	f := p.expectHeaders(1)
	require.Equal(t, "v", f.Fields.Get("x-short"), "the first HEADERS is the second request's")

	errs := make(chan error, 3)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		errs <- st.Respond(Header{{Name: "x-long", Value: long}}, nil)
		errs <- st.Respond(nil, &RespondOptions{Body: []byte("b"), Trailers: Header{{Name: "x-long", Value: long}}})
		errs <- st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options: Options{MaxSendHeaderBlockLength: 256}}, nil)
	rs, err := c.Request(ctxT(t), Header{{Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.ErrorIs(t, <-errs, ErrHeaderBlockTooLong, "response headers")
	require.ErrorIs(t, <-errs, ErrHeaderBlockTooLong, "trailers, refused before the headers were queued")
	require.NoError(t, <-errs)
	hdr, err := rs.Response(ctxT(t))
	require.NoError(t, err)
	require.False(t, hdr.Has("x-long"))
}

// TestHPACKBound: no encoding of a list, with a fresh table or one that
// changed size, is longer than hpackBound says.
func TestHPACKBound(t *testing.T) {
	for _, h := range []Header{
		{},
		{{Name: ":method", Value: "GET"}},
		{{Name: "x", Value: ""}},
		{{Name: "x-long", Value: strings.Repeat("\xff", 5000)}}, // Huffman longer than raw: sent raw
		{{Name: strings.Repeat("n", 200), Value: strings.Repeat("v", 20000)}, {Name: "a", Value: "b", Sensitive: true}},
	} {
		var buf hpackBuf
		enc := hpack.NewEncoder(&buf)
		enc.SetMaxDynamicTableSizeLimit(100)
		enc.SetMaxDynamicTableSize(50)
		for _, f := range h {
			require.NoError(t, enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value, Sensitive: f.Sensitive}))
		}
		require.LessOrEqual(t, len(buf.b), hpackBound(h))
	}
	for _, tc := range []struct{ v, prefix, want int }{
		{0, 7, 1}, {126, 7, 1}, {127, 7, 2}, {127 + 127, 7, 2}, {127 + 128, 7, 3}, {1<<31 - 1, 7, 6}, {14, 4, 1}, {15, 4, 2},
	} {
		require.Equal(t, tc.want, hpackIntLen(tc.v, tc.prefix), "%d with %d bits", tc.v, tc.prefix)
	}
}
