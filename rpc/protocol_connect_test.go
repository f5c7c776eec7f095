package rpc

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestConnectCodesAndHTTPStatuses(t *testing.T) {
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		require.Equal(t, c, connectCodeFromName(connectCodeName(c)), c.String())
	}
	require.Equal(t, codes.Unknown, connectCodeFromName("no_such_code"))
	for c, want := range map[codes.Code]int{codes.Canceled: 499, codes.InvalidArgument: 400, codes.DeadlineExceeded: 504,
		codes.NotFound: 404, codes.AlreadyExists: 409, codes.PermissionDenied: 403, codes.ResourceExhausted: 429,
		codes.Unimplemented: 501, codes.Unavailable: 503, codes.Unauthenticated: 401, codes.Internal: 500, codes.Unknown: 500} {
		require.Equal(t, want, connectHTTPStatus(c), c.String())
	}
}

func TestConnectTimeouts(t *testing.T) {
	d, err := parseConnectTimeout("1500")
	require.NoError(t, err)
	require.Equal(t, 1500*time.Millisecond, d)
	for _, bad := range []string{"", "-1", "12345678901", "1s"} {
		_, err := parseConnectTimeout(bad)
		require.Equal(t, codes.InvalidArgument, status.Code(err), bad)
	}
	require.Equal(t, "2", formatConnectTimeout(1001*time.Microsecond), "rounded up")
}

func TestConnectEndStreamRoundTrip(t *testing.T) {
	st, err := status.New(codes.NotFound, "gone").WithDetails(durationpb.New(time.Second))
	require.NoError(t, err)
	b := appendConnectEndStream(nil, st, metadata.Pairs("t", "v", "tb-bin", "\x00\x01"))
	require.Equal(t, byte(connectEndStreamFlag), b[0])
	md, callErr, err := parseConnectEndStream(b[5:])
	require.NoError(t, err)
	require.Equal(t, []string{"v"}, md["t"])
	require.Equal(t, []string{"\x00\x01"}, md["tb-bin"])
	got := status.Convert(callErr.status())
	require.Equal(t, codes.NotFound, got.Code())
	require.Equal(t, "gone", got.Message())
	require.Len(t, got.Details(), 1)
	require.True(t, proto.Equal(durationpb.New(time.Second), got.Details()[0].(proto.Message)))

	_, callErr, err = parseConnectEndStream(appendConnectEndStream(nil, status.New(codes.OK, ""), nil)[5:])
	require.NoError(t, err)
	require.Nil(t, callErr)
}

// connectErrorOf decodes a unary error body.
func connectErrorOf(t *testing.T, body []byte) *connectError {
	t.Helper()
	var e connectError
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return &e
}

func TestServeHTTPConnectUnary(t *testing.T) {
	checkNoLeaks(t)
	for _, mode := range httpModes {
		t.Run(mode, func(t *testing.T) {
			e := newHTTPEnv(t, mode)
			// Proto, with header and trailer metadata.
			body, err := proto.Marshal(wrapperspb.String("md"))
			require.NoError(t, err)
			resp, out := e.post(t, "/test.Echo/Echo", "application/proto", body, "k", "v", "t", "w", "Connect-Protocol-Version", "1")
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "application/proto", resp.Header.Get("Content-Type"))
			require.Equal(t, "md", stringOf(t, out))
			require.Equal(t, "v", resp.Header.Get("k"))
			require.Equal(t, "w", resp.Header.Get("trailer-t"))

			// An error: the HTTP status of its code and the JSON body.
			resp, out = e.post(t, "/test.Echo/Echo", "application/json", []byte(`"error:5:no such thing"`))
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			ce := connectErrorOf(t, out)
			require.Equal(t, "not_found", ce.Code)
			require.Equal(t, "no such thing", ce.Message)

			// An unknown method: the path is not found.
			resp, out = e.post(t, "/test.Echo/Nope", "application/json", []byte(`"x"`))
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
			require.Equal(t, "unimplemented", connectErrorOf(t, out).Code)
		})
	}
}

func TestServeHTTPConnectErrorDetails(t *testing.T) {
	srv := NewServer()
	srv.RegisterService(&ServiceDesc{ServiceName: "test.Fail", HandlerType: (*any)(nil), Methods: []MethodDesc{{MethodName: "Fail",
		Handler: func(_ any, _ context.Context, _ func(any) error, _ UnaryServerInterceptor) (any, error) {
			st, _ := status.New(codes.FailedPrecondition, "not yet").WithDetails(durationpb.New(2 * time.Second))
			return nil, st.Err()
		}}}}, struct{}{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/test.Fail/Fail", "application/json", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	ce := connectErrorOf(t, body)
	require.Len(t, ce.Details, 1)
	require.Equal(t, "google.protobuf.Duration", ce.Details[0].Type)
	st := status.Convert(ce.status())
	require.Equal(t, codes.FailedPrecondition, st.Code())
	require.True(t, proto.Equal(durationpb.New(2*time.Second), st.Details()[0].(proto.Message)))
}

func TestServeHTTPConnectTimeout(t *testing.T) {
	e := newHTTPEnv(t, modeH1)
	start := time.Now()
	resp, out := e.post(t, "/test.Echo/Echo", "application/json", []byte(`"sleep:5s"`), "Connect-Timeout-Ms", "50")
	require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	require.Equal(t, "deadline_exceeded", connectErrorOf(t, out).Code)
	require.Less(t, time.Since(start), 4*time.Second)
	resp, out = e.post(t, "/test.Echo/Echo", "application/json", []byte(`"x"`), "Connect-Timeout-Ms", "soon")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_argument", connectErrorOf(t, out).Code)
	resp, _ = e.post(t, "/test.Echo/Echo", "application/json", []byte(`"x"`), "Connect-Protocol-Version", "2")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestServeHTTPConnectGet(t *testing.T) {
	checkNoLeaks(t)
	e := newHTTPEnv(t, modeH1)
	b, err := proto.Marshal(wrapperspb.String("got"))
	require.NoError(t, err)
	// proto in base64, as a client sends it.
	resp, out := e.do(t, mustRequest(t, "GET", e.url+"/test.Lookup/Get?"+connectGetQuery("proto", b, "")))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "got", stringOf(t, out))
	// JSON as is.
	resp, out = e.do(t, mustRequest(t, "GET", e.url+"/test.Lookup/Get?encoding=json&message="+url.QueryEscape(`"plain"`)))
	require.Equal(t, 200, resp.StatusCode)
	require.JSONEq(t, `"plain"`, string(out))
	// Gzip in the query.
	z, err := gzipCompressor{}.Compress(nil, b)
	require.NoError(t, err)
	resp, out = e.do(t, mustRequest(t, "GET", e.url+"/test.Lookup/Get?"+connectGetQuery("proto", z, "gzip")))
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "got", stringOf(t, out))
	// A method with side effects cannot be called with GET.
	resp, _ = e.do(t, mustRequest(t, "GET", e.url+"/test.Echo/Echo?"+connectGetQuery("proto", b, "")))
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "POST", resp.Header.Get("Allow"))
	// An unknown codec.
	resp, _ = e.do(t, mustRequest(t, "GET", e.url+"/test.Lookup/Get?encoding=xml&message=x"))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
}

func TestServeHTTPConnectCompression(t *testing.T) {
	b, err := proto.Marshal(wrapperspb.String("big:1000"))
	require.NoError(t, err)
	z, err := gzipCompressor{}.Compress(nil, b)
	require.NoError(t, err)
	for _, min := range []int{0, 2000} {
		e := newHTTPEnv(t, modeH1, CompressMinBytes(min))
		resp, out := e.post(t, "/test.Echo/Echo", "application/proto", z, "Content-Encoding", "gzip", "Accept-Encoding", "br, gzip")
		require.Equal(t, 200, resp.StatusCode)
		if min == 0 {
			require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
			require.Less(t, len(out), 200)
			out, err = gzipCompressor{}.Decompress(nil, out, 1<<20)
			require.NoError(t, err)
		} else {
			// Below the threshold: sent as is.
			require.Empty(t, resp.Header.Get("Content-Encoding"))
		}
		require.Len(t, stringOf(t, out), 1000)
	}
	e := newHTTPEnv(t, modeH1)
	resp, out := e.post(t, "/test.Echo/Echo", "application/proto", b, "Content-Encoding", "zstd-x")
	require.Equal(t, http.StatusNotImplemented, resp.StatusCode)
	require.Equal(t, "unimplemented", connectErrorOf(t, out).Code)
	require.Contains(t, resp.Header.Get("Accept-Encoding"), "gzip")
}

// TestServeHTTPCompressMinBytesDefault: without CompressMinBytes a server
// leaves responses under DefaultCompressMinBytes uncompressed although the
// client accepts gzip, in every protocol, and compresses those at the
// threshold.
func TestServeHTTPCompressMinBytesDefault(t *testing.T) {
	e := newHTTPEnv(t, modeH1)
	// A StringValue of n bytes is n+3 on the wire (tag and a 2-byte length).
	under, at := DefaultCompressMinBytes-4, DefaultCompressMinBytes-3
	for _, n := range []int{100, under, at} {
		b, err := proto.Marshal(wrapperspb.String("big:" + strconv.Itoa(n)))
		require.NoError(t, err)
		compressed := n == at

		resp, out := e.post(t, "/test.Echo/Echo", "application/proto", b, "Accept-Encoding", "gzip")
		require.Equal(t, 200, resp.StatusCode)
		if compressed {
			require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "Connect unary, %d bytes", n)
			out, err = gzipCompressor{}.Decompress(nil, out, 1<<20)
			require.NoError(t, err)
		} else {
			require.Empty(t, resp.Header.Get("Content-Encoding"), "Connect unary, %d bytes", n)
		}
		require.Len(t, stringOf(t, out), n)

		resp, out = e.post(t, "/test.Echo/Echo", "application/grpc-web", envelope(t, "big:"+strconv.Itoa(n), true), "grpc-encoding", "gzip")
		require.Equal(t, 200, resp.StatusCode)
		flags, _ := envelopes(t, out)
		want := byte(0)
		if compressed {
			want = 1
		}
		require.Equal(t, []byte{want, grpcWebTrailerFlag}, flags, "gRPC-Web, %d bytes", n)
	}
}

func TestServeHTTPConnectStreams(t *testing.T) {
	checkNoLeaks(t)
	for _, mode := range httpModes {
		t.Run(mode, func(t *testing.T) {
			e := newHTTPEnv(t, mode)
			// Server stream: the messages, then the end-of-stream message.
			resp, out := e.post(t, "/test.Echo/Count", "application/connect+proto", int32Envelope(t, 2), "Connect-Timeout-Ms", "5000")
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "application/connect+proto", resp.Header.Get("Content-Type"))
			flags, payloads := envelopes(t, out)
			require.Equal(t, []byte{0, 0, connectEndStreamFlag}, flags)
			require.Equal(t, "1", stringOf(t, payloads[1]))
			_, callErr, err := parseConnectEndStream(payloads[2])
			require.NoError(t, err)
			require.Nil(t, callErr)

			// Client stream with JSON messages.
			var body []byte
			for _, s := range []string{`"a"`, `"b"`} {
				body = append(body, 0, 0, 0, 0, byte(len(s)))
				body = append(body, s...)
			}
			resp, out = e.post(t, "/test.Echo/Concat", "application/connect+json", body)
			require.Equal(t, 200, resp.StatusCode)
			_, payloads = envelopes(t, out)
			require.JSONEq(t, `"ab"`, string(payloads[0]))

			// Bidi, half duplex (everything sent first): works on HTTP/1.1 too.
			resp, out = e.post(t, "/test.Echo/Chat", "application/connect+proto", append(envelope(t, "x", false), envelope(t, "y", false)...))
			require.Equal(t, 200, resp.StatusCode)
			flags, payloads = envelopes(t, out)
			require.Equal(t, []byte{0, 0, connectEndStreamFlag}, flags)
			require.Equal(t, "echo:y", stringOf(t, payloads[1]))

			// An error is in the end-of-stream message; the status is 200.
			resp, out = e.post(t, "/test.Echo/Nope", "application/connect+proto", nil)
			require.Equal(t, 200, resp.StatusCode)
			_, payloads = envelopes(t, out)
			_, callErr, err = parseConnectEndStream(payloads[0])
			require.NoError(t, err)
			require.Equal(t, codes.Unimplemented, status.Code(callErr.status()))

			// A unary method in streaming form, or the reverse: 415.
			resp, _ = e.post(t, "/test.Echo/Echo", "application/connect+proto", envelope(t, "x", false))
			require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
			resp, _ = e.post(t, "/test.Echo/Count", "application/proto", nil)
			require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		})
	}
}

func TestServeConnectOnOurEngine(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil)
	resp, _, body := rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Echo"},
		{Name: "content-type", Value: "application/json"}}, []byte(`"engine"`))
	require.Equal(t, "200", resp.Get(":status"))
	require.JSONEq(t, `"engine"`, string(body))
	resp, _, body = rawCall(t, e.addr, h2.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/test.Echo/Count"},
		{Name: "content-type", Value: "application/connect+proto"}}, int32Envelope(t, 1))
	require.Equal(t, "200", resp.Get(":status"))
	flags, _ := envelopes(t, body)
	require.Equal(t, []byte{0, connectEndStreamFlag}, flags)
}

func TestServeConnectGetOnOurEngine(t *testing.T) {
	checkNoLeaks(t)
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	srv.RegisterService(&lookupDesc, &echoImpl{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	addr := l.Addr().String()
	b, err := proto.Marshal(wrapperspb.String("engine"))
	require.NoError(t, err)
	resp, _, body := rawCall(t, addr, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/test.Lookup/Get?" + connectGetQuery("proto", b, "")}}, nil)
	require.Equal(t, "200", resp.Get(":status"))
	require.Equal(t, "engine", stringOf(t, body))
	resp, _, _ = rawCall(t, addr, h2.Header{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/test.Echo/Echo?" + connectGetQuery("proto", b, "")}}, nil)
	require.Equal(t, "405", resp.Get(":status"))
}

// A Connect unary body is read whole into pooled buffers that grow by size
// class: every size up to the limit, around the class boundaries, comes out
// as one envelope byte for byte when its source gives it in small pieces,
// and one byte over the limit is RESOURCE_EXHAUSTED.
func TestUnaryBodyReadsWholeBodies(t *testing.T) {
	const max = 5000
	for _, n := range []int{0, 1, 511, 512, 513, 1024, 4097, max} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		ub := &unaryBody{src: &smallReads{b: msg}, max: max}
		er := envelopeReader{r: ub, maxSize: max}
		got, bp, err := er.next()
		require.NoError(t, err, "size %d", n)
		require.Equal(t, msg, append([]byte{}, got...), "size %d", n)
		bp.release()
		_, _, err = er.next()
		require.Equal(t, io.EOF, err, "size %d", n)
	}
	ub := &unaryBody{src: &smallReads{b: make([]byte, max+1)}, max: max}
	_, err := ub.ReadFramed(make([]byte, 16), nil)
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
}

// smallReads returns its bytes at most 100 at a time.
type smallReads struct{ b []byte }

func (r *smallReads) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 100)], r.b)
	r.b = r.b[n:]
	return n, nil
}
