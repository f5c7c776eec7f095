package rpc

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
)

func parseHead(t testing.TB, s string) (*http1Request, *bufio.Reader, error) {
	br := bufio.NewReaderSize(strings.NewReader(s), maxHTTP1Line)
	r := &http1Request{}
	return r, br, readHTTP1Request(br, "http", r)
}

func TestReadHTTP1Request(t *testing.T) {
	r, _, err := parseHead(t, "\r\nPOST /svc/M?x=1 HTTP/1.1\r\nHOST: example.com\r\nContent-Type: application/json\r\n"+
		"X-Two: a\r\nx-two: b\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: gzip\r\n"+
		"Content-Length: 12\r\nX-Spaces:  v  \t\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, h2.Header{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/svc/M?x=1"},
		{Name: ":authority", Value: "example.com"}, {Name: "content-type", Value: "application/json"},
		{Name: "x-two", Value: "a"}, {Name: "x-two", Value: "b"}, {Name: "content-length", Value: "12"},
		{Name: "x-spaces", Value: "v"},
	}, r.hdr, "pseudo-header fields first, names in lower case, this hop's fields dropped")
	require.Equal(t, bodyLength, r.body)
	require.Equal(t, int64(12), r.length)
	require.False(t, r.close)

	// The absolute form's authority wins over Host.
	r, _, err = parseHead(t, "POST http://a.example/p HTTP/1.1\r\nHost: b.example\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, "a.example", r.hdr.Get(":authority"))
	require.Equal(t, "/p", r.hdr.Get(":path"))

	// HTTP/1.0 closes unless asked not to; no Host needed.
	r, _, err = parseHead(t, "POST / HTTP/1.0\r\n\r\n")
	require.NoError(t, err)
	require.True(t, r.close)
	r, _, err = parseHead(t, "POST / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
	require.NoError(t, err)
	require.False(t, r.close)

	r, _, err = parseHead(t, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nExpect: 100-Continue\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, bodyChunked, r.body)
	require.True(t, r.expect)

	// A bare LF ends a line too (RFC 9112 §2.2).
	_, _, err = parseHead(t, "POST / HTTP/1.1\nHost: x\n\n")
	require.NoError(t, err)

	_, _, err = parseHead(t, "")
	require.ErrorIs(t, err, io.EOF, "a connection that ends between requests")
	_, _, err = parseHead(t, "POST / HTTP/1.1\r\nHost: x\r\n")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestReadHTTP1RequestRefusals(t *testing.T) {
	for in, code := range map[string]int{
		"POST  / HTTP/1.1\r\n\r\n":                                                   400,
		"POST / HTTP/1.1 \r\nHost: x\r\n\r\n":                                        505,
		"P(ST / HTTP/1.1\r\nHost: x\r\n\r\n":                                         400,
		"POST /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n":                                   400,
		"POST a HTTP/1.1\r\nHost: x\r\n\r\n":                                         400,
		"POST / HTTP/2.0\r\nHost: x\r\n\r\n":                                         505,
		"POST / FTP/1.0\r\nHost: x\r\n\r\n":                                          400,
		"POST / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n":                                  400,
		"POST / HTTP/1.1\r\nHost: x\r\nA\tB: v\r\n\r\n":                              400,
		"POST / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n":                              400,
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n":                   400,
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n": 400,
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n":          501,
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n":  501,
		"\r\n\r\n\r\n\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n":                     400,
	} {
		_, _, err := parseHead(t, in)
		var he *http1Error
		require.ErrorAs(t, err, &he, "%q", in)
		require.Equal(t, code, he.code, "%q: %v", in, err)
		require.ErrorIs(t, err, errHTTP1Request)
	}
}

func readBody(kind bodyKind, length int64, s string) (string, *bufio.Reader, error) {
	br := bufio.NewReaderSize(strings.NewReader(s), 64)
	b := &http1Body{br: br}
	b.reset(kind, length)
	out, err := io.ReadAll(b)
	return string(out), br, err
}

func TestHTTP1BodyFraming(t *testing.T) {
	got, br, err := readBody(bodyLength, 5, "helloNEXT")
	require.NoError(t, err)
	require.Equal(t, "hello", got)
	rest, _ := io.ReadAll(br)
	require.Equal(t, "NEXT", string(rest), "a body never reads past its end")

	got, br, err = readBody(bodyChunked, 0, "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT")
	require.NoError(t, err)
	require.Equal(t, "hello0123456789", got)
	rest, _ = io.ReadAll(br)
	require.Equal(t, "NEXT", string(rest))

	_, _, err = readBody(bodyLength, 10, "short")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	for _, bad := range []string{
		"x\r\n", "\r\n", "5 \r\nhello\r\n0\r\n\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n",
		"1000000000000000\r\n", "-5\r\nhello\r\n", "5\r\nhello\r\n0\r\nbad\rtrailer\r\n\r\n",
		"5\r\nhello\r\n0\r\n" + strings.Repeat("a", 100) + "\r\n",
	} {
		_, _, err := readBody(bodyChunked, 0, bad)
		require.Error(t, err, "%q", bad)
		require.False(t, errors.Is(err, io.EOF), "%q", bad)
	}
	_, _, err = readBody(bodyChunked, 0, "5\r\nhel")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// The client reads trailers from a chunked response's end.
func TestHTTP1BodyTrailers(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("2\r\nhi\r\n0\r\nGrpc-Status: 0\r\nGrpc-Message: ok\r\n\r\n"), 64)
	b := &http1Body{br: br}
	b.reset(bodyChunked, 0)
	var got []string
	b.trailer = func(name, value string) { got = append(got, name+"="+value) }
	out, err := io.ReadAll(b)
	require.NoError(t, err)
	require.Equal(t, "hi", string(out))
	require.Equal(t, []string{"grpc-status=0", "grpc-message=ok"}, got)
}

// FuzzHTTP1Request feeds random bytes to the request parser and the body
// reader: nothing panics, a parsed request's framing is consistent, and
// the body never reads more than there is.
func FuzzHTTP1Request(f *testing.F) {
	for _, s := range []string{
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST http://h/p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(strings.NewReader(string(in)), maxHTTP1Line)
		r := &http1Request{}
		if err := readHTTP1Request(br, "http", r); err != nil {
			return
		}
		require.GreaterOrEqual(t, len(r.hdr), 4)
		require.Equal(t, ":authority", r.hdr[3].Name)
		for _, f := range r.hdr[4:] {
			require.True(t, isToken(f.Name), "%q", f.Name)
			require.Equal(t, strings.ToLower(f.Name), f.Name)
			require.NotContains(t, f.Value, "\r")
			require.NotContains(t, f.Value, "\n")
		}
		if r.body == bodyLength {
			require.Positive(t, r.length)
		}
		b := &http1Body{br: br}
		b.reset(r.body, r.length)
		n, _ := io.Copy(io.Discard, b)
		require.LessOrEqual(t, n, int64(len(in)))
	})
}
