package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	pb "github.com/h2rpc/h2rpc/proto/examples/helloworld"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// The example's Prometheus endpoint has the A66 metrics under the names
// OpenTelemetry's exporter gives them, and calls to fifty unknown methods
// add one series, not fifty.
func TestPrometheusEndpointHasA66Metrics(t *testing.T) {
	rpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	metricsLis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// A fast built-in client, so the client metrics appear too.
	go func() { done <- run(ctx, rpcLis, metricsLis, 10*time.Millisecond) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	cc, err := rpc.NewClient(rpcLis.Addr().String(), rpc.WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	_, err = pb.NewGreeterClient(cc).SayHello(context.Background(), &pb.HelloRequest{Name: "test"})
	require.NoError(t, err)
	for i := range 50 {
		err := cc.Invoke(context.Background(), "/helloworld.Greeter/Unknown"+strings.Repeat("x", i), &pb.HelloRequest{}, &pb.HelloReply{})
		require.Equal(t, codes.Unimplemented, status.Code(err))
	}

	url := "http://" + metricsLis.Addr().String() + "/metrics"
	var text string
	require.Eventually(t, func() bool {
		text = scrape(t, url)
		return strings.Contains(text, `grpc_server_call_duration_seconds_count{grpc_method="other",grpc_status="UNIMPLEMENTED"`) &&
			strings.Contains(text, "grpc_client_call_duration_seconds_count")
	}, 5*time.Second, 10*time.Millisecond)

	for _, name := range []string{
		"grpc_server_call_started_total", "grpc_server_call_duration_seconds",
		"grpc_server_call_sent_total_compressed_message_size_bytes", "grpc_server_call_rcvd_total_compressed_message_size_bytes",
		"grpc_client_attempt_started_total", "grpc_client_attempt_duration_seconds", "grpc_client_call_duration_seconds",
		"grpc_client_attempt_sent_total_compressed_message_size_bytes", "grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
		"h2rpc_server_stream_duration_seconds",
	} {
		require.Contains(t, text, "# TYPE "+name+" ", name)
	}
	require.Contains(t, text, `grpc_server_call_started_total{grpc_method="other"`)
	require.Contains(t, text, `grpc_method="helloworld.Greeter/SayHello",grpc_status="OK"`)
	require.NotContains(t, text, "Unknown", "no series per unknown method")
	methods := map[string]bool{}
	for _, m := range regexp.MustCompile(`grpc_server_call_started_total\{grpc_method="([^"]*)"`).FindAllStringSubmatch(text, -1) {
		methods[m[1]] = true
	}
	require.Equal(t, map[string]bool{"helloworld.Greeter/SayHello": true, "other": true}, methods)
}
