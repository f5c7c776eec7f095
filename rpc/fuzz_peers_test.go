package rpc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Fuzzing whole calls against a peer that sends whatever the fuzzer makes
// up: the envelope, timeout and metadata fuzzers cover the parsers one at a
// time, these the paths between them (status from headers or trailers,
// trailers-only, HTTP errors, compression, resets, limits). Each input must
// end its calls promptly, with a response or a status error, and leave no
// goroutine behind; the process surviving is the rest of the assertion.

// fuzzCallTimeout bounds each fuzzed call. Every answer the fuzzed server
// gives is complete, so a call that needs its deadline to end is a hang.
const fuzzCallTimeout = 5 * time.Second

// plainEcho answers Echo with its input, whatever it is.
type plainEcho struct{}

func (plainEcho) Echo(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return in, nil
}

// fields parses "name:value" lines into header fields (the first colon
// after the first byte splits, so ":status:200" is a pseudo-header).
func fields(s string) h2.Header {
	var h h2.Header
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line[min(1, len(line)):], ':') + 1; i > 0 {
			h = append(h, h2.HeaderField{Name: line[:i], Value: line[i+1:]})
		}
	}
	return h
}

// requireEndedWithStatus checks how a fuzzed call ended: by itself (not by
// its deadline), and with nothing or an error that carries a status.
func requireEndedWithStatus(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	require.NoError(t, ctx.Err(), "the call ran until its deadline: %v", err)
	if err == nil {
		return
	}
	s, ok := status.FromError(err)
	require.True(t, ok, "not a status error: %v", err)
	require.NotEqual(t, codes.OK, s.Code(), "an error with code OK: %v", err)
}

func FuzzClientAgainstAnyResponse(f *testing.F) {
	msg := encoded(f, "hi")
	f.Add("200", "application/grpc", "", msg, "grpc-status:0", false)
	f.Add("200", "application/grpc", "", []byte{}, "grpc-status:5\ngrpc-message:not%20found%FF", true)
	f.Add("200", "application/grpc", "gzip", []byte{1, 0, 0, 0, 3, 1, 2, 3}, "grpc-status:0", false)
	f.Add("503", "text/html", "", []byte("busy"), "", false)
	f.Add("200", "application/grpc+proto", "", []byte{0, 0, 0, 0, 9}, "grpc-status:13\ngrpc-status-details-bin:CA0SAmhp", false)
	f.Add("200", "application/grpc", "", []byte{0, 0x7f, 0xff, 0xff, 0xff}, "grpc-status:0", false)
	f.Add("200", "application/grpc", "", append(msg, msg...), "grpc-status:99\nx-bin:@@", false)
	f.Add("200", "application/grpc", "", msg, "", false)
	f.Add("200", "application/grpc", "", msg, "grpc-status:abc", false)
	f.Fuzz(func(t *testing.T, code, ctype, enc string, body []byte, trailers string, trailersOnly bool) {
		checkNoLeaks(t)
		hdr := h2.Header{{Name: ":status", Value: code}, {Name: "content-type", Value: ctype}}
		if enc != "" {
			hdr = append(hdr, h2.HeaderField{Name: "grpc-encoding", Value: enc})
		}
		tr := fields(trailers)
		hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
			_, _ = io.Copy(io.Discard, st)
			var err error
			if trailersOnly {
				err = st.Respond(append(hdr, tr...), &h2.RespondOptions{EndStream: true})
			} else {
				err = st.Respond(hdr, &h2.RespondOptions{Body: body, Trailers: tr})
			}
			if err != nil {
				st.Reset(h2.ErrCodeInternal) // h2 refused what the fuzzer made up
			}
		})}
		cc := clientOfH2Server(t, hs)
		ctx, cancel := context.WithTimeout(context.Background(), fuzzCallTimeout)
		defer cancel()

		err := cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("hi"), new(wrapperspb.StringValue))
		requireEndedWithStatus(t, ctx, err)

		cs, err := cc.NewStream(ctx, &StreamDesc{ServerStreams: true}, "/test.Echo/Count")
		if err == nil {
			if err = cs.SendMsg(wrapperspb.Int32(2)); err == nil {
				err = cs.CloseSend()
			}
			for err == nil {
				err = cs.RecvMsg(new(wrapperspb.StringValue))
			}
			if errors.Is(err, io.EOF) {
				err = nil
			}
		}
		requireEndedWithStatus(t, ctx, err)
	})
}

func FuzzServerAgainstAnyRequest(f *testing.F) {
	msg := encoded(f, "hi")
	f.Add("POST", "/test.Echo/Echo", "application/grpc", "trailers", "", "", "x-md", "v", msg, true)
	f.Add("POST", "/test.Echo/Chat", "application/grpc+proto", "trailers", "1S", "", "x-bin", "AAEC", append(msg, msg...), false)
	f.Add("POST", "/test.Echo/Echo", "application/grpc", "trailers", "99999999H", "gzip", "grpc-x", "v", []byte{1, 0, 0, 0, 3, 1, 2, 3}, true)
	f.Add("POST", "/test.Echo/Echo", "application/grpc", "", "soon", "zstd", "a-bin", "!!", []byte{0, 0x7f, 0xff, 0xff, 0xff}, true)
	f.Add("GET", "/nope", "text/plain", "gzip", "", "", "k", "v", []byte("x"), true)
	f.Add("POST", "/test.Echo/Count", "application/grpc", "trailers", "", "identity", "k", "v", []byte{0, 0, 0, 0, 2, 8, 3}, true)
	// gRPC-Web, Connect unary, streaming and GET: the other protocols on the same server.
	f.Add("POST", "/test.Echo/Echo", "application/grpc-web+proto", "", "", "", "x-grpc-web", "1", msg, true)
	f.Add("POST", "/test.Echo/Echo", "application/grpc-web-text", "", "", "", "k", "v", []byte("AAAAAAQKAmhp"), true)
	f.Add("POST", "/test.Echo/Echo", "application/json", "", "", "", "connect-timeout-ms", "100", []byte(`"hi"`), true)
	f.Add("POST", "/test.Echo/Chat", "application/connect+json", "", "", "", "connect-content-encoding", "gzip", []byte{0, 0, 0, 0, 4, '"', 'h', 'i', '"'}, false)
	f.Add("GET", "/test.Echo/Echo?encoding=json&message=%22hi%22", "", "", "", "", "connect-protocol-version", "1", []byte(nil), true)
	f.Fuzz(func(t *testing.T, method, path, ctype, te, timeout, enc, mdName, mdValue string, body []byte, closeSend bool) {
		checkNoLeaks(t)
		srv := NewServer()
		srv.RegisterService(&echoDesc, plainEcho{})
		l := NewInMemoryListener()
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(srv.Stop)

		ctx, cancel := context.WithTimeout(context.Background(), fuzzCallTimeout)
		defer cancel()
		conn, err := l.Dial(ctx, "")
		require.NoError(t, err)
		sess, err := h2.NewClientSession(conn, nil)
		require.NoError(t, err)
		defer sess.Close()

		hdr := h2.Header{{Name: ":method", Value: method}, {Name: ":path", Value: path}, {Name: "content-type", Value: ctype}}
		for _, f := range []h2.HeaderField{{Name: "te", Value: te}, {Name: "grpc-timeout", Value: timeout}, {Name: "grpc-encoding", Value: enc}, {Name: mdName, Value: mdValue}} {
			if f.Value != "" {
				hdr = append(hdr, f)
			}
		}
		st, err := sess.Request(ctx, hdr, nil)
		if err != nil {
			return // h2 refused to send it: nothing reached the server
		}
		if _, err := st.Write(body); err == nil && closeSend {
			_ = st.CloseWrite()
		}
		if !closeSend {
			// A client that keeps its side open: the server answers what it
			// can, and the call ends when the client leaves.
			time.AfterFunc(10*time.Millisecond, func() { st.Reset(h2.ErrCodeCancel) })
		}
		resp, err := st.Response(ctx)
		if err == nil {
			out, rerr := io.ReadAll(st)
			if rerr == nil && resp.Get(":status") == "200" {
				checkAnswerEnds(t, resp, st.Trailers(), out)
			}
		}
		require.NoError(t, ctx.Err(), "the server left the call hanging")

		// The server is still there for a well-behaved client.
		cc, err := NewClient("inmem", WithInsecure(), WithContextDialer(l.Dial))
		require.NoError(t, err)
		defer cc.Close()
		out := new(wrapperspb.StringValue)
		require.NoError(t, cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String("after"), out))
		require.Equal(t, "after", out.GetValue())
	})
}

// checkAnswerEnds checks that a complete 200 answer says how the call
// ended, in its protocol's way: gRPC in trailers (or a trailers-only
// header block), gRPC-Web in a last trailer envelope, a Connect stream in
// its end-of-stream message. A Connect unary answer is its message.
func checkAnswerEnds(t *testing.T, resp, trailers h2.Header, body []byte) {
	ct := resp.Get("content-type")
	var last []byte
	var flag byte
	for b := body; len(b) >= 5; {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if len(b) < 5+n {
			break
		}
		flag, last, b = b[0], b[5:5+n], b[5+n:]
	}
	switch {
	case strings.HasPrefix(ct, "application/grpc-web-text"):
		// base64: the binary variant is checked, this one only decoded by the tests
	case strings.HasPrefix(ct, "application/grpc-web"):
		require.Equal(t, byte(grpcWebTrailerFlag), flag, "a gRPC-Web answer without its trailer envelope: %v %q", resp, body)
		tr, err := parseGRPCWebTrailers(last)
		require.NoError(t, err)
		_, perr := strconv.ParseUint(tr.Get("grpc-status"), 10, 32)
		require.NoError(t, perr, "a gRPC-Web answer without a valid grpc-status: %q", last)
	case strings.HasPrefix(ct, "application/grpc"):
		code := resp.Get("grpc-status")
		if trailers.Get("grpc-status") != "" {
			code = trailers.Get("grpc-status")
		}
		_, perr := strconv.ParseUint(code, 10, 32)
		require.NoError(t, perr, "a 200 answer without a valid grpc-status: %v %v", resp, trailers)
	case strings.HasPrefix(ct, "application/connect+"):
		require.Equal(t, byte(connectEndStreamFlag), flag, "a Connect stream without its end-of-stream message: %v %q", resp, body)
		_, _, err := parseConnectEndStream(last)
		require.NoError(t, err)
	}
}
