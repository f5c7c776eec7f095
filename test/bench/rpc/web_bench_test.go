package main

import (
	"context"
	"net"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/stretchr/testify/require"
)

// The browser protocols, h2rpc against connect-go in one run: Connect
// unary calls (proto and JSON) over HTTP/1.1 and HTTP/2, and gRPC-Web
// unary over HTTP/2, each stack with its own client and server over
// loopback in cleartext, one call at a time, a 100-byte request and
// response built fresh for each call. Compare the ns/op of the two stacks
// in each pair ("h2rpc" and "connect-go" under the same case):
//
//	cd test/bench/rpc && go test -run XXX -bench 'Web|Mounted' -benchmem
//
// h2rpc's server is its own engine (Serve) and its client its own
// connections: sessions on HTTP/2, WithHTTP1 on HTTP/1.1. connect-go runs on
// net/http's server and client.
//
// BenchmarkWebUnaryC64 is the same calls made by 64 goroutines at once on
// one client of each stack: throughput where BenchmarkWebUnary is latency.
// The command above runs both; 'WebUnary/' alone runs the first.

// webCase is one protocol, codec and HTTP version.
type webCase struct {
	name  string
	proto rpc.Protocol
	json  bool
	http1 bool
}

var webCases = []webCase{
	{"connect-proto-http1", rpc.ProtocolConnect, false, true},
	{"connect-json-http1", rpc.ProtocolConnect, true, true},
	{"connect-proto-h2c", rpc.ProtocolConnect, false, false},
	{"connect-json-h2c", rpc.ProtocolConnect, true, false},
	{"grpcweb-proto-h2c", rpc.ProtocolGRPCWeb, false, false},
}

func webRequest() *testpb.SimpleRequest {
	return &testpb.SimpleRequest{ResponseSize: 100, Payload: &testpb.Payload{Body: make([]byte, 100)}}
}

// httpProtocols is HTTP/1.1 only, or h2c only.
func httpProtocols(http1 bool) *http.Protocols {
	p := new(http.Protocols)
	if http1 {
		p.SetHTTP1(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return p
}

// serveHTTP serves h with net/http's server on loopback.
func serveHTTP(tb testing.TB, h http.Handler, http1 bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	hs := &http.Server{Handler: h, Protocols: httpProtocols(http1)}
	go func() { _ = hs.Serve(l) }()
	tb.Cleanup(func() { _ = hs.Close() })
	return l.Addr().String()
}

func httpClient(tb testing.TB, http1 bool) *http.Client {
	tr := &http.Transport{Protocols: httpProtocols(http1), MaxIdleConnsPerHost: webConcurrency}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// ourWebClient is h2rpc's server and client for c.
func ourWebClient(b *testing.B, c webCase) testpb.TestServiceClient {
	srv := rpc.NewServer()
	testpb.RegisterTestServiceServer(srv, h2rpcService{})
	b.Cleanup(srv.Stop)
	opts := []rpc.DialOption{rpc.WithInsecure(), rpc.WithProtocol(c.proto)}
	var addr string
	if c.http1 {
		addr = serveOwnHTTP1(b, srv) // web_http1_bench_test.go; net/http's mount is BenchmarkWebUnaryMounted
		opts = append(opts, rpc.WithHTTP1())
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		go func() { _ = srv.Serve(l) }()
		addr = l.Addr().String()
	}
	if c.json {
		opts = append(opts, rpc.WithProtoJSON())
	}
	cc, err := rpc.NewClient(addr, opts...)
	require.NoError(b, err)
	b.Cleanup(func() { _ = cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// connectWebClient is connect-go's server and client for c.
func connectWebClient(b *testing.B, c webCase) *connect.Client[testpb.SimpleRequest, testpb.SimpleResponse] {
	addr := serveHTTP(b, connectMux(), c.http1)
	var opts []connect.ClientOption
	if c.proto == rpc.ProtocolGRPCWeb {
		opts = append(opts, connect.WithGRPCWeb())
	}
	if c.json {
		opts = append(opts, connect.WithProtoJSON())
	}
	return connect.NewClient[testpb.SimpleRequest, testpb.SimpleResponse](httpClient(b, c.http1),
		"http://"+addr+testpb.TestService_UnaryCall_FullMethodName, opts...)
}

func BenchmarkWebUnary(b *testing.B) {
	ctx := context.Background()
	for _, c := range webCases {
		b.Run(c.name+"/h2rpc", func(b *testing.B) {
			client := ourWebClient(b, c)
			defer cpuPerCall(b)() // web_http1_bench_test.go
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.UnaryCall(ctx, webRequest())
				if err != nil || len(resp.GetPayload().GetBody()) != 100 {
					b.Fatalf("call: %v", err)
				}
			}
		})
		b.Run(c.name+"/connect-go", func(b *testing.B) {
			client := connectWebClient(b, c)
			defer cpuPerCall(b)()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.CallUnary(ctx, connect.NewRequest(webRequest()))
				if err != nil || len(resp.Msg.GetPayload().GetBody()) != 100 {
					b.Fatalf("call: %v", err)
				}
			}
		})
	}
}

// webConcurrency is how many calls BenchmarkWebUnaryC64 keeps in flight.
// Over HTTP/1.1 each takes a connection of its own, so both clients keep
// that many idle connections to the server (httpClient's pool, WithHTTP1's).
const webConcurrency = 64

// BenchmarkWebUnaryC64 makes BenchmarkWebUnary's calls from webConcurrency
// goroutines sharing one client: ns/op is the time per call at that
// concurrency, the inverse of throughput.
func BenchmarkWebUnaryC64(b *testing.B) {
	ctx := context.Background()
	for _, c := range webCases {
		b.Run(c.name+"/h2rpc", func(b *testing.B) {
			client := ourWebClient(b, c)
			parallel(b, webConcurrency, func() error {
				resp, err := client.UnaryCall(ctx, webRequest())
				if err == nil && len(resp.GetPayload().GetBody()) != 100 {
					b.Fatal("short response")
				}
				return err
			})
		})
		b.Run(c.name+"/connect-go", func(b *testing.B) {
			client := connectWebClient(b, c)
			parallel(b, webConcurrency, func() error {
				resp, err := client.CallUnary(ctx, connect.NewRequest(webRequest()))
				if err == nil && len(resp.Msg.GetPayload().GetBody()) != 100 {
					b.Fatal("short response")
				}
				return err
			})
		})
	}
}

// BenchmarkMountedServer measures what mounting rpc.Server on net/http's
// server (h2c, through ServeHTTP) costs against its own engine (Serve):
// gRPC unary calls from our client, one at a time.
func BenchmarkMountedServer(b *testing.B) {
	ctx := context.Background()
	for _, mounted := range []bool{false, true} {
		name := "Serve"
		if mounted {
			name = "net-http"
		}
		b.Run(name, func(b *testing.B) {
			srv := rpc.NewServer()
			testpb.RegisterTestServiceServer(srv, h2rpcService{})
			b.Cleanup(srv.Stop)
			var addr string
			if mounted {
				addr = serveHTTP(b, srv, false)
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(b, err)
				go func() { _ = srv.Serve(l) }()
				addr = l.Addr().String()
			}
			cc, err := rpc.NewClient(addr, rpc.WithInsecure())
			require.NoError(b, err)
			b.Cleanup(func() { _ = cc.Close() })
			client := testpb.NewTestServiceClient(cc)
			defer cpuPerCall(b)()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, webRequest()); err != nil {
					b.Fatalf("call: %v", err)
				}
			}
		})
	}
}
