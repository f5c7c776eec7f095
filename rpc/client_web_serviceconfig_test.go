package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// gRPC-Web and Connect calls apply the service config's method settings
// as gRPC calls do (serviceconfig_retry_test.go): timeout, waitForReady,
// message size limits, retries with throttling and pushback, hedging.

// webCarrier is a way for gRPC-Web and Connect calls to reach Serve, which
// answers HTTP/2 and HTTP/1.1 on one port.
type webCarrier struct {
	name string
	opts func(t *testing.T) []DialOption
}

var webCarriers = []webCarrier{
	{"own-h2c", func(*testing.T) []DialOption { return nil }},
	{"own-http1", func(*testing.T) []DialOption { return []DialOption{WithHTTP1()} }},
	{"httpclient-h2c", func(t *testing.T) []DialOption {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		t.Cleanup(tr.CloseIdleConnections)
		return []DialOption{WithHTTPClient(&http.Client{Transport: tr})}
	}},
	{"httpclient-http1", func(t *testing.T) []DialOption {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		return []DialOption{WithHTTPClient(&http.Client{Transport: tr})}
	}},
}

// forEachWebCarrier runs f for gRPC-Web and Connect over every carrier.
func forEachWebCarrier(t *testing.T, f func(t *testing.T, p Protocol, c webCarrier)) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		for _, c := range webCarriers {
			t.Run(p.String()+"/"+c.name, func(t *testing.T) {
				checkNoLeaks(t)
				f(t, p, c)
			})
		}
	}
}

// webServer serves the echo service with sopts on loopback and returns
// its address.
func webServer(t *testing.T, sopts ...ServerOption) string {
	t.Helper()
	srv := NewServer(sopts...)
	srv.RegisterService(&echoDesc, &echoImpl{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// webClient is a client of protocol p over carrier c, with service config sc.
func webClient(t *testing.T, addr string, p Protocol, c webCarrier, sc string, opts ...DialOption) *ClientConn {
	t.Helper()
	base := []DialOption{WithInsecure(), WithProtocol(p), WithDefaultServiceConfig(sc)}
	cc, err := NewClient(addr, append(append(base, c.opts(t)...), opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// deadlineSeen records the deadline each call reached the server with.
type deadlineSeen struct {
	left atomic.Int64 // time left at the server, -1 for no deadline
}

func (d *deadlineSeen) unary(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
	d.record(ctx)
	return h(ctx, req)
}

func (d *deadlineSeen) stream(srv any, ss ServerStream, _ *StreamServerInfo, h StreamHandler) error {
	d.record(ss.Context())
	return h(srv, ss)
}

func (d *deadlineSeen) record(ctx context.Context) {
	dl, ok := ctx.Deadline()
	if !ok {
		d.left.Store(-1)
		return
	}
	d.left.Store(int64(time.Until(dl)))
}

func TestWebServiceConfigTimeout(t *testing.T) {
	const timeout = time.Second
	const sc = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "timeout": "1s"}]}`
	forEachWebCarrier(t, func(t *testing.T, p Protocol, c webCarrier) {
		var seen deadlineSeen
		addr := webServer(t, ChainUnaryInterceptor(seen.unary), ChainStreamInterceptor(seen.stream))
		cc := webClient(t, addr, p, c, sc)
		// The timeout covers the calls below, not the connection's making,
		// which a loaded machine can stretch past it: a call of a service the
		// config leaves alone connects first.
		_, err := echoOn(ctxTimeout(t, 10*time.Second), cc, "/test.Unconfigured/Connect", "x")
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)

		// The caller sets no deadline: the method's timeout is the call's.
		_, err = echoOn(context.Background(), cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
		left := time.Duration(seen.left.Load())
		require.Greater(t, left, time.Duration(0), "the unary call carried a deadline")
		require.LessOrEqual(t, left, timeout)

		seen.left.Store(0)
		cs, err := cc.NewStream(context.Background(), &echoDesc.Streams[0], "/test.Echo/Count")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.Int32(1)))
		require.NoError(t, cs.CloseSend())
		for err == nil {
			err = cs.RecvMsg(new(wrapperspb.StringValue))
		}
		require.ErrorIs(t, err, io.EOF)
		left = time.Duration(seen.left.Load())
		require.Greater(t, left, time.Duration(0), "the stream carried a deadline")
		require.LessOrEqual(t, left, timeout)

		// A call that outlives the timeout ends with DEADLINE_EXCEEDED.
		_, err = echoOn(context.Background(), cc, "/test.Echo/Echo", "block")
		require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	})
}

func TestWebServiceConfigMessageSizes(t *testing.T) {
	forEachWebCarrier(t, func(t *testing.T, p Protocol, c webCarrier) {
		var calls atomic.Int64
		count := func(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
			calls.Add(1)
			return h(ctx, req)
		}
		addr := webServer(t, ChainUnaryInterceptor(count))
		big := strings.Repeat("x", 100)

		cc := webClient(t, addr, p, c, `{"methodConfig": [{"name": [{"service": "test.Echo"}], "maxRequestMessageBytes": 50}]}`)
		_, err := echoOn(context.Background(), cc, "/test.Echo/Echo", big)
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
		require.Zero(t, calls.Load(), "the request was never sent")
		got, err := echoOn(context.Background(), cc, "/test.Echo/Echo", "small")
		require.NoError(t, err)
		require.Equal(t, "small", got)

		cc = webClient(t, addr, p, c, `{"methodConfig": [{"name": [{"service": "test.Echo"}], "maxResponseMessageBytes": 50}]}`)
		_, err = echoOn(context.Background(), cc, "/test.Echo/Echo", big)
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
		// A call option still overrides the config.
		got, err = echoOn(context.Background(), cc, "/test.Echo/Echo", big, MaxCallRecvMsgSize(1000))
		require.NoError(t, err)
		require.Equal(t, big, got)
	})
}

// failingDialer fails its first n dials, then dials addr.
type failingDialer struct {
	n     int64
	dials atomic.Int64
}

func (d *failingDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	if d.dials.Add(1) <= d.n {
		return nil, errors.New("refused on purpose")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", addr)
}

func TestWebServiceConfigWaitForReady(t *testing.T) {
	fast := WithConnectParams(ConnectParams{Backoff: BackoffConfig{BaseDelay: 10 * time.Millisecond, Multiplier: 1, MaxDelay: 10 * time.Millisecond}})
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		// An HTTPClient dials by itself: the option cannot apply to it.
		for _, c := range webCarriers[:2] {
			t.Run(p.String()+"/"+c.name, func(t *testing.T) {
				checkNoLeaks(t)
				addr := webServer(t)
				for _, wfr := range []bool{false, true} {
					d := &failingDialer{n: 2}
					sc := `{"methodConfig": [{"name": [{"service": "test.Echo"}], "waitForReady": ` + map[bool]string{false: "false", true: "true"}[wfr] + `}]}`
					cc := webClient(t, addr, p, c, sc, WithContextDialer(d.dial), fast)
					got, err := echoOn(ctxTimeout(t, 10*time.Second), cc, "/test.Echo/Echo", "x")
					if !wfr {
						require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
						continue
					}
					require.NoError(t, err, "the call waited for a connection")
					require.Equal(t, "x", got)
					require.GreaterOrEqual(t, d.dials.Load(), int64(3))
				}
			})
		}
	}
}

func TestWebRetryPolicy(t *testing.T) {
	const throttled = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "retryPolicy": {
		"maxAttempts": 4, "initialBackoff": "0.01s", "maxBackoff": "0.05s", "backoffMultiplier": 2,
		"retryableStatusCodes": ["UNAVAILABLE"]}}], "retryThrottling": {"maxTokens": 2, "tokenRatio": 0.1}}`
	forEachWebCarrier(t, func(t *testing.T, p Protocol, c webCarrier) {
		for _, tc := range []struct {
			name      string
			f         *failing
			sc        string
			wantCode  codes.Code
			wantCalls int64
		}{
			{"retried", &failing{n: 2, code: codes.Unavailable}, retryConfig, codes.OK, 3},
			{"maxAttempts", &failing{n: 10, code: codes.Unavailable}, retryConfig, codes.Unavailable, 4},
			{"not retryable", &failing{n: 1, code: codes.Internal}, retryConfig, codes.Internal, 1},
			{"throttled", &failing{n: 1, code: codes.Unavailable}, throttled, codes.Unavailable, 1},
			// Response metadata alone do not commit a call over HTTP (committed).
			{"header sent", &failing{n: 1, code: codes.Unavailable, header: true}, retryConfig, codes.OK, 2},
		} {
			addr := webServer(t, ChainUnaryInterceptor(tc.f.unary))
			cc := webClient(t, addr, p, c, tc.sc)
			got, err := echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "x")
			require.Equal(t, tc.wantCode, status.Code(err), "%s: %v", tc.name, err)
			if err == nil {
				require.Equal(t, "x", got)
			}
			require.Equal(t, tc.wantCalls, tc.f.calls.Load(), tc.name)
		}
	})
}

// gRPC-Web's grpc-retry-pushback-ms is obeyed (negative forbids the
// retry, a number of milliseconds is the delay), from a trailers-only
// header or the trailer envelope; a response message commits the call,
// a header alone does not (gRPC-Web servers answer errors that way).
func TestWebRetryPolicyGRPCWebPushbackAndCommit(t *testing.T) {
	msg := func(s string) []byte {
		b, err := proto.Marshal(wrapperspb.String(s))
		require.NoError(t, err)
		return append([]byte{0, 0, 0, 0, byte(len(b))}, b...)
	}
	trailer := func(pushback string) []byte {
		h := h2.Header{{Name: "grpc-status", Value: "14"}, {Name: "grpc-message", Value: "busy"}}
		if pushback != "" {
			h = append(h, h2.HeaderField{Name: "grpc-retry-pushback-ms", Value: pushback})
		}
		return appendGRPCWebTrailers(nil, h)
	}
	for _, c := range webCarriers {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeaks(t)
			for _, tc := range []struct {
				name      string
				header    string // grpc-retry-pushback-ms in a trailers-only header
				body      []byte
				wantCalls int64
			}{
				{"trailers-only, pushback -1", "-1", nil, 1},
				{"trailers-only, pushback 0", "0", nil, 4},
				{"trailer envelope, pushback -1", "", trailer("-1"), 1},
				{"trailer envelope, no message", "", trailer(""), 4},
				{"message, then the error", "", append(msg("x"), trailer("")...), 1},
			} {
				var calls atomic.Int64
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					calls.Add(1)
					w.Header().Set("Content-Type", "application/grpc-web+proto")
					if tc.header != "" {
						w.Header().Set("Grpc-Status", "14")
						w.Header().Set("Grpc-Retry-Pushback-Ms", tc.header)
					}
					_, _ = w.Write(tc.body)
				}), Protocols: new(http.Protocols)}
				srv.Protocols.SetHTTP1(true)
				srv.Protocols.SetUnencryptedHTTP2(true)
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				go func() { _ = srv.Serve(l) }()
				cc := webClient(t, l.Addr().String(), ProtocolGRPCWeb, c, retryConfig)
				_, err = echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "x")
				require.Equal(t, codes.Unavailable, status.Code(err), "%s: %v", tc.name, err)
				require.Equal(t, tc.wantCalls, calls.Load(), tc.name)
				require.NoError(t, cc.Close())
				require.NoError(t, srv.Close())
			}
		})
	}
}

func TestWebHedgingPolicy(t *testing.T) {
	const sc = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "hedgingPolicy": {
		"maxAttempts": 3, "hedgingDelay": "10s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}`
	forEachWebCarrier(t, func(t *testing.T, p Protocol, c webCarrier) {
		// The first copy fails with a non-fatal code: the next goes at once,
		// long before the hedging delay, and wins.
		f := &failing{n: 1, code: codes.Unavailable}
		addr := webServer(t, ChainUnaryInterceptor(f.unary))
		cc := webClient(t, addr, p, c, sc)
		got, err := echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
		require.Equal(t, "x", got)
		require.EqualValues(t, 2, f.calls.Load())
	})
}

// WithHTTP1 has a resolver of its own: its service config applies, as the
// ClientConn's does for HTTP/2 calls, and WithDisableServiceConfig ignores
// it.
func TestWebHTTP1ResolverServiceConfig(t *testing.T) {
	checkNoLeaks(t)
	var seen deadlineSeen
	addr := webServer(t, ChainUnaryInterceptor(seen.unary))
	const sc = `{"methodConfig": [{"name": [{"service": "test.Echo"}], "timeout": "0.5s"}]}`
	for _, disable := range []bool{false, true} {
		m := resolver.NewManual("sc")
		m.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: addr}}, ServiceConfig: sc})
		opts := []DialOption{WithInsecure(), WithConnect(), WithHTTP1(), WithResolvers(m)}
		if disable {
			opts = append(opts, WithDisableServiceConfig())
		}
		cc, err := NewClient("sc:///x", opts...)
		require.NoError(t, err)
		// Connected by a call the config leaves alone: the timeout covers the
		// call below, not a connection a loaded machine can make slowly.
		_, err = echoOn(ctxTimeout(t, 10*time.Second), cc, "/test.Unconfigured/Connect", "x")
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
		_, err = echoOn(context.Background(), cc, "/test.Echo/Echo", "x")
		require.NoError(t, err)
		require.NoError(t, cc.Close())
		left := time.Duration(seen.left.Load())
		if disable {
			require.EqualValues(t, -1, left, "no deadline")
			continue
		}
		require.Greater(t, left, time.Duration(0))
		require.LessOrEqual(t, left, 500*time.Millisecond)
	}
}

// doneCounter is round_robin with its picks and their Done calls counted.
type doneCounter struct {
	picks, dones atomic.Int64
	method       atomic.Value // the last pick's FullMethodName
}

func (b *doneCounter) Name() string { return "web_done_counter" }

func (b *doneCounter) Build(cc balancer.ClientConn, o balancer.BuildOptions) balancer.Balancer {
	return balancer.Get(balancer.RoundRobin).Build(doneCounterCC{cc, b}, o)
}

type doneCounterCC struct {
	balancer.ClientConn
	b *doneCounter
}

func (c doneCounterCC) UpdateState(s balancer.State) {
	s.Picker = doneCounterPicker{s.Picker, c.b}
	c.ClientConn.UpdateState(s)
}

type doneCounterPicker struct {
	p balancer.Picker
	b *doneCounter
}

func (p doneCounterPicker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	r, err := p.p.Pick(info)
	if err != nil {
		return r, err
	}
	p.b.picks.Add(1)
	p.b.method.Store(info.FullMethodName)
	inner := r.Done
	r.Done = func(d balancer.DoneInfo) {
		p.b.dones.Add(1)
		if inner != nil {
			inner(d)
		}
	}
	return r, nil
}

var webDoneCounter = &doneCounter{}

func init() { balancer.Register(webDoneCounter) }

// Calls on the client's own HTTP/2 sessions are placed by the balancer with
// their method's name, and tell its picker how they ended, as gRPC calls
// do: least_request counts calls in flight that way (and counted web calls
// that never ended).
func TestWebCallsTellThePickerTheyEnded(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			b := webDoneCounter
			b.picks.Store(0)
			b.dones.Store(0)
			addr := webServer(t)
			cc := webClient(t, addr, p, webCarriers[0], `{"loadBalancingConfig": [{"web_done_counter": {}}]}`)
			ctx := ctxTimeout(t, 5*time.Second)
			_, err := echoOn(ctx, cc, "/test.Echo/Echo", "x")
			require.NoError(t, err)
			_, err = echoOn(ctx, cc, "/test.Echo/Echo", "error:5:nope")
			require.Equal(t, codes.NotFound, status.Code(err))
			cs, err := cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.Int32(2)))
			require.NoError(t, cs.CloseSend())
			for err == nil {
				err = cs.RecvMsg(new(wrapperspb.StringValue))
			}
			require.ErrorIs(t, err, io.EOF)
			require.EqualValues(t, 3, b.picks.Load())
			require.EqualValues(t, 3, b.dones.Load())
			require.Equal(t, "/test.Echo/Count", b.method.Load())
		})
	}
}

// A request the server refused unprocessed (REFUSED_STREAM) is sent again
// on the client's own sessions, as a gRPC call's is, without any policy.
func TestWebTransparentRetryOfRefusedStream(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkNoLeaks(t)
			srv := NewServer()
			srv.RegisterService(&echoDesc, &echoImpl{})
			var served atomic.Int32
			hs := &h2.Server{Handler: h2.HandlerFunc(func(st *h2.Stream) {
				if served.Add(1) == 1 {
					st.Reset(h2.ErrCodeRefusedStream)
					return
				}
				srv.serveStream(st)
			})}
			l := NewInMemoryListener()
			go func() { _ = hs.Serve(l) }()
			t.Cleanup(func() { _ = hs.Close() })
			cc, err := NewClient("inmem", WithInsecure(), WithProtocol(p), WithContextDialer(l.Dial))
			require.NoError(t, err)
			t.Cleanup(func() { _ = cc.Close() })
			got, err := echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "retried")
			require.NoError(t, err)
			require.Equal(t, "retried", got)
			require.EqualValues(t, 2, served.Load())
		})
	}
}
