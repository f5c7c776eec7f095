package main

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/stretchr/testify/require"
)

// The HTTP/1.1 side of the web benchmarks: h2rpc on its own HTTP/1.1 at both
// ends (Serve, WithHTTP1) against connect-go on net/http, one call at a time
// (BenchmarkWebUnary's http1 cases) and 64 at a time (BenchmarkWebUnaryC64's);
// and h2rpc mounted on net/http's HTTP/1.1 server with net/http's client
// (BenchmarkWebUnaryMounted), what ServeHTTP and WithHTTPClient cost:
//
//	cd test/bench/rpc && go test -run XXX -bench 'WebUnary/connect-.*-http1' -benchmem -count 3

// cpuPerCall, deferred after a benchmark's setup, reports the process's CPU
// time per call (user and system, client and server together) as
// "cpu-µs/op". Unlike ns/op it leaves out the time spent waiting for a CPU,
// so on a shared, loaded machine it compares two stacks where ns/op mostly
// measures the neighbours.
func cpuPerCall(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N)/float64(time.Microsecond), "cpu-µs/op")
	}
}

// http1Cases are webCases' HTTP/1.1 ones.
func http1Cases() []webCase {
	var out []webCase
	for _, c := range webCases {
		if c.http1 {
			out = append(out, c)
		}
	}
	return out
}

// serveOwnHTTP1 serves srv with Serve on loopback: HTTP/1.1 on the port of
// our own engine.
func serveOwnHTTP1(b *testing.B, srv *rpc.Server) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String()
}

// BenchmarkWebUnaryMounted is BenchmarkWebUnary's HTTP/1.1 cases with
// h2rpc on net/http at both ends (ServeHTTP on net/http's server,
// WithHTTPClient with net/http's client), as connect-go runs.
func BenchmarkWebUnaryMounted(b *testing.B) {
	ctx := context.Background()
	for _, c := range http1Cases() {
		b.Run(c.name+"/h2rpc-net-http", func(b *testing.B) {
			srv := rpc.NewServer()
			testpb.RegisterTestServiceServer(srv, h2rpcService{})
			b.Cleanup(srv.Stop)
			opts := []rpc.DialOption{rpc.WithInsecure(), rpc.WithProtocol(c.proto), rpc.WithHTTPClient(httpClient(b, true))}
			if c.json {
				opts = append(opts, rpc.WithProtoJSON())
			}
			cc, err := rpc.NewClient(serveHTTP(b, srv, true), opts...)
			require.NoError(b, err)
			b.Cleanup(func() { _ = cc.Close() })
			client := testpb.NewTestServiceClient(cc)
			defer cpuPerCall(b)()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.UnaryCall(ctx, webRequest())
				if err != nil || len(resp.GetPayload().GetBody()) != 100 {
					b.Fatalf("call: %v", err)
				}
			}
		})
	}
}

// parallel runs call from n goroutines (at least; RunParallel makes a
// multiple of GOMAXPROCS) until b.N calls are done.
func parallel(b *testing.B, n int, call func() error) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((n + procs - 1) / procs)
	defer cpuPerCall(b)()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Errorf("call: %v", err)
				return
			}
		}
	})
}
