package rpc

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
)

func TestGRPCWebTrailersRoundTrip(t *testing.T) {
	in := h2.Header{{Name: "grpc-status", Value: "5"}, {Name: "grpc-message", Value: "not%20here"}, {Name: "x-t", Value: "a"}}
	b := appendGRPCWebTrailers(nil, in)
	require.Equal(t, byte(grpcWebTrailerFlag), b[0])
	require.Equal(t, "grpc-status: 5\r\ngrpc-message: not%20here\r\nx-t: a\r\n", string(b[5:]))
	out, err := parseGRPCWebTrailers([]byte("Grpc-Status: 5\r\ngrpc-message:not%20here\r\nx-t: a"))
	require.NoError(t, err)
	require.Equal(t, in, out)
	_, err = parseGRPCWebTrailers([]byte("no colon\r\n"))
	require.Error(t, err)
}

func TestBase64ReaderDecodesPaddedRuns(t *testing.T) {
	// Two runs back to back, each padded, read a byte at a time.
	body := base64.StdEncoding.EncodeToString([]byte("ab")) + base64.StdEncoding.EncodeToString([]byte("cde"))
	got, err := io.ReadAll(&base64Reader{r: iotest.OneByteReader(bytes.NewReader([]byte(body)))})
	require.NoError(t, err)
	require.Equal(t, "abcde", string(got))
	_, err = io.ReadAll(&base64Reader{r: bytes.NewReader([]byte("YWJj!!!!"))})
	require.Error(t, err)
	_, err = io.ReadAll(&base64Reader{r: bytes.NewReader([]byte("YWJjZ"))})
	require.Error(t, err, "a body cut mid-quantum")
}

func TestServeHTTPGRPCWeb(t *testing.T) {
	checkNoLeaks(t)
	for _, mode := range httpModes {
		t.Run(mode, func(t *testing.T) {
			e := newHTTPEnv(t, mode)
			// Unary: the message, then the status in the body.
			resp, body := e.post(t, "/test.Echo/Echo", "application/grpc-web+proto", envelope(t, "hi", false), "X-Grpc-Web", "1")
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "application/grpc-web+proto", resp.Header.Get("Content-Type"))
			flags, payloads := envelopes(t, body)
			require.Equal(t, []byte{0, grpcWebTrailerFlag}, flags)
			require.Equal(t, "hi", stringOf(t, payloads[0]))
			tr, err := parseGRPCWebTrailers(payloads[1])
			require.NoError(t, err)
			require.Equal(t, "0", tr.Get("grpc-status"))

			// An error: no message, the status with its message.
			_, body = e.post(t, "/test.Echo/Echo", "application/grpc-web", envelope(t, "error:7:no way", false))
			flags, payloads = envelopes(t, body)
			require.Equal(t, []byte{grpcWebTrailerFlag}, flags)
			tr, err = parseGRPCWebTrailers(payloads[0])
			require.NoError(t, err)
			require.Equal(t, "7", tr.Get("grpc-status"))
			require.Equal(t, "no way", decodeGrpcMessage(tr.Get("grpc-message")))

			// Metadata: the header's in headers, the trailer's in the body.
			resp, body = e.post(t, "/test.Echo/Echo", "application/grpc-web", envelope(t, "md", false), "k", "v", "t", "w")
			require.Equal(t, "v", resp.Header.Get("k"))
			_, payloads = envelopes(t, body)
			tr, err = parseGRPCWebTrailers(payloads[1])
			require.NoError(t, err)
			require.Equal(t, "w", tr.Get("t"))

			// A server stream, gzip-compressed both ways.
			resp, body = e.post(t, "/test.Echo/Count", "application/grpc-web", int32Envelope(t, 2), "grpc-encoding", "identity", "grpc-accept-encoding", "gzip")
			require.Equal(t, 200, resp.StatusCode)
			flags, payloads = envelopes(t, body)
			require.Equal(t, []byte{0, 0, grpcWebTrailerFlag}, flags)
			require.Equal(t, "1", stringOf(t, payloads[1]))
		})
	}
}

func TestServeHTTPGRPCWebText(t *testing.T) {
	e := newHTTPEnv(t, modeH1)
	req := base64.StdEncoding.EncodeToString(envelope(t, "text", false))
	resp, body := e.post(t, "/test.Echo/Echo", "application/grpc-web-text", []byte(req))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "application/grpc-web-text+proto", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(&base64Reader{r: bytes.NewReader(body)})
	require.NoError(t, err)
	flags, payloads := envelopes(t, raw)
	require.Equal(t, []byte{0, grpcWebTrailerFlag}, flags)
	require.Equal(t, "text", stringOf(t, payloads[0]))
}

func TestServeGRPCWebOnOurEngine(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	resp, _, body := rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "application/grpc-web+proto"}}, envelope(t, "engine", false))
	require.Equal(t, "200", resp.Get(":status"))
	flags, payloads := envelopes(t, body)
	require.Equal(t, []byte{0, grpcWebTrailerFlag}, flags)
	require.Equal(t, "engine", stringOf(t, payloads[0]))
}

func TestServeHTTPGRPCWebCompressed(t *testing.T) {
	e := newHTTPEnv(t, modeH1, CompressMinBytes(0)) // "zipped" is under the default threshold
	resp, body := e.post(t, "/test.Echo/Echo", "application/grpc-web", envelope(t, "zipped", true), "grpc-encoding", "gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("grpc-encoding"))
	flags, payloads := envelopes(t, body)
	require.Equal(t, []byte{1, grpcWebTrailerFlag}, flags)
	plain, err := gzipCompressor{}.Decompress(nil, payloads[0], 1<<20)
	require.NoError(t, err)
	require.Equal(t, "zipped", stringOf(t, plain))
}

func TestServeGRPCWebTextOnOurEngine(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	req := base64.StdEncoding.EncodeToString(int32Envelope(t, 2))
	resp, _, body := rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Count"},
		{Name: "content-type", Value: "application/grpc-web-text"}}, []byte(req))
	require.Equal(t, "200", resp.Get(":status"))
	raw, err := io.ReadAll(&base64Reader{r: bytes.NewReader(body)})
	require.NoError(t, err)
	flags, payloads := envelopes(t, raw)
	require.Equal(t, []byte{0, 0, grpcWebTrailerFlag}, flags)
	require.Equal(t, "1", stringOf(t, payloads[1]))
}
