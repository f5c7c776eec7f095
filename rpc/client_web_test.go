package rpc

import (
	"io"
	"net"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A gRPC-Web or Connect unary call on the client's own sessions, over
// loopback TCP, client and server in this process: the allocations they
// cost together. Through a net/http request and response converted to and
// from h2's they cost 76 (gRPC-Web) and 74 (Connect); the native path builds
// h2's header list directly and reads the h2 stream, as gRPC calls do. The
// same calls over our own HTTP/1.1 (WithHTTP1 to Serve) too. A pooled
// unary call keeps its request header list's array and its HTTP/1.1
// response for the next, and a Connect server reads the request body
// through a reader inside the call's state: from 24 to 23 (gRPC-Web) and
// 22 (Connect) over HTTP/2, from 25 to 23 and 22 over HTTP/1.1, and to 22
// and 21 since our HTTP/1.1 server makes a request's call and its
// serverStream in one allocation. The bound is what was measured when it was
// written (AllocsPerRun truncates the mean, so noise does not show); lower
// it when you win.
func TestWebUnaryCallAllocations(t *testing.T) {
	for _, c := range []struct {
		p     Protocol
		http1 bool
		bound float64
	}{
		{ProtocolGRPCWeb, false, 23}, {ProtocolConnect, false, 22},
		{ProtocolGRPCWeb, true, 22}, {ProtocolConnect, true, 21},
	} {
		name := c.p.String()
		opts := []DialOption{WithProtocol(c.p)}
		if c.http1 {
			name += "/http1"
			opts = append(opts, WithHTTP1())
		}
		t.Run(name, func(t *testing.T) {
			checkNoLeaks(t)
			allocs := echoAllocations(t, newEnv(t, true, nil, opts...))
			bound := c.bound
			if raceEnabled {
				bound += 10 // sync.Pool drops a quarter of its items under the race detector (6 more measured)
			}
			require.LessOrEqual(t, allocs, bound, "allocations per %s unary call grew", c.p)
		})
	}
}

// A pooled unary call's state keeps its request header list's array (and
// over HTTP/1.1 its response) for the next call: nothing of one call's
// metadata or response may show in the next, many of them in a row, with
// and without metadata, over HTTP/2 and HTTP/1.1.
func TestWebUnaryCallsShareNoMetadata(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		for _, http1 := range []bool{false, true} {
			opts := []DialOption{WithProtocol(p)}
			name := p.String()
			if http1 {
				name += "/http1"
				opts = append(opts, WithHTTP1())
			}
			t.Run(name, func(t *testing.T) {
				checkNoLeaks(t)
				e := newEnv(t, true, nil, opts...)
				ctx := ctxTimeout(t, 10*time.Second)
				for i := range 20 {
					callCtx, want := ctx, []string(nil)
					if i%2 == 0 {
						v := strconv.Itoa(i)
						callCtx, want = metadata.AppendToOutgoingContext(ctx, "k", v, "t", v), []string{v}
					}
					var header, trailer metadata.MD
					out := new(wrapperspb.StringValue)
					err := e.cc.Invoke(callCtx, "/test.Echo/Echo", wrapperspb.String("md"), out, Header(&header), Trailer(&trailer))
					require.NoError(t, err)
					require.Equal(t, "md", out.Value)
					require.Equal(t, want, header["k"], "call %d", i)
					require.Equal(t, []string{strings.Join(want, ",")}, trailer["t"], "call %d", i)
				}
			})
		}
	}
}

// A gRPC-Web or Connect client-streaming call on the client's own sessions
// writes its messages straight to its h2 stream. Through a pipe, with a
// goroutine copying it into the stream, such a call of 10 messages cost 60
// (gRPC-Web) and 64 (Connect) allocations and 42 KB, a 32 KiB copy buffer
// among them; written directly, 50 and 54 and under 9 KB.
func TestWebClientStreamAllocations(t *testing.T) {
	for _, c := range []struct {
		p     Protocol
		bound float64
	}{{ProtocolGRPCWeb, 52}, {ProtocolConnect, 56}} {
		t.Run(c.p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			e := newEnv(t, true, nil, WithProtocol(c.p))
			ctx := ctxTimeout(t, 10*time.Second)
			const msgs = 10
			msg := wrapperspb.String("x")
			out := new(wrapperspb.StringValue)
			one := func() {
				concatInto(t, ctx, e, msg, msgs, out)
				require.Equal(t, strings.Repeat("x", msgs), out.Value)
			}
			for range 20 {
				one()
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs := testing.AllocsPerRun(100, one)
			runtime.ReadMemStats(&after)
			bytes := (after.TotalAlloc - before.TotalAlloc) / 101 // AllocsPerRun's warm-up run too
			t.Logf("%.1f allocations, %d bytes per call", allocs, bytes)
			bound, maxBytes := c.bound, uint64(16<<10)
			if raceEnabled {
				// sync.Pool drops a quarter of its items under the race
				// detector (15 allocations and 14 KB more measured).
				bound, maxBytes = bound+20, 32<<10
			}
			require.Less(t, bytes, maxBytes, "bytes per %s client-stream call grew", c.p)
			require.LessOrEqual(t, allocs, bound, "allocations per %s client-stream call grew", c.p)
		})
	}
}

// A client stream on the client's own sessions opens its h2 stream in
// NewStream; when there is no connection to open it on, the call still
// fails where an exchange's failure shows: SendMsg says io.EOF and RecvMsg
// the status, UNAVAILABLE.
func TestWebClientStreamWithoutConnection(t *testing.T) {
	checkNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			cc, err := NewClient(addr, WithInsecure(), WithProtocol(p))
			require.NoError(t, err)
			defer cc.Close()
			cs, err := cc.NewStream(ctxTimeout(t, 10*time.Second), &echoDesc.Streams[1], "/test.Echo/Concat")
			require.NoError(t, err)
			require.Equal(t, io.EOF, cs.SendMsg(wrapperspb.String("x")))
			require.NoError(t, cs.CloseSend())
			err = cs.RecvMsg(new(wrapperspb.StringValue))
			require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		})
	}
}

// A Connect unary call that fails (no such method: 404 and Connect's JSON
// error body), client and server together, over loopback TCP. Reading the
// body with io.ReadAll and formatting the HTTP-status fallback whether or
// not it was the answer cost 9 allocations more.
func TestConnectErrorCallAllocations(t *testing.T) {
	checkNoLeaks(t)
	e := newEnv(t, true, nil, WithConnect())
	ctx := ctxTimeout(t, 10*time.Second)
	in, out := wrapperspb.String("x"), new(wrapperspb.StringValue)
	one := func() {
		err := e.cc.Invoke(ctx, "/test.Echo/Nope", in, out)
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
	}
	for range 100 {
		one()
	}
	allocs := testing.AllocsPerRun(300, one)
	t.Logf("%.1f allocations per call", allocs)
	bound := 46.0
	if raceEnabled {
		bound += 10 // sync.Pool drops a quarter of its items under the race detector
	}
	require.LessOrEqual(t, allocs, bound, "allocations per failed Connect call grew")
}

// The field names converted between h2's spelling and net/http's for an
// HTTPClient come out as textproto and strings.ToLower spell them, the
// protocols' own fields (from a table, without allocating) and any other.
func TestHTTPClientFieldNames(t *testing.T) {
	for lower := range knownFields {
		if lower[0] < 'a' {
			continue // a canonical entry
		}
		canon := textproto.CanonicalMIMEHeaderKey(lower)
		require.Equal(t, canon, canonicalName(lower))
		require.Equal(t, lower, lowerName(canon))
		require.Equal(t, lower, lowerName(lower))
		require.Zero(t, testing.AllocsPerRun(10, func() { _, _ = canonicalName(lower), lowerName(canon) }), lower)
	}
	for _, name := range []string{"x-custom-md", "trailer-x-t", "grpc-status-details-bin", "a"} {
		require.Equal(t, textproto.CanonicalMIMEHeaderKey(name), canonicalName(name))
		require.Equal(t, name, lowerName(textproto.CanonicalMIMEHeaderKey(name)))
	}
}

// A method name HTTP cannot carry (a control character in the path) fails
// the call with INTERNAL, a bug of the caller's, on the client's own
// sessions as through an HTTPClient: not UNAVAILABLE, which would invite a
// retry.
func TestWebCallWithUnsendablePath(t *testing.T) {
	for _, tr := range []string{overOwnH2C, overHTTP1} {
		for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
			t.Run(p.String()+"/"+tr, func(t *testing.T) {
				checkNoLeaks(t)
				cc := newClientHTTPEnv(t, tr).dial(t, p)
				_, err := echoOn(ctxTimeout(t, 10*time.Second), cc, "/test.Echo/Echo\n", "x")
				require.Equal(t, codes.Internal, status.Code(err), "%v", err)
			})
		}
	}
}
