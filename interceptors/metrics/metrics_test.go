package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/metrics"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

func text(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, m.WriteText(&b))
	return b.String()
}

const unaryLabels = `rpc_system="grpc",rpc_service="grpc.testing.TestService",rpc_method="UnaryCall"`

func TestServerUnary(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{rpc.UnaryInterceptor(m.UnaryServerInterceptor())})
	ctx := context.Background()
	for range 2 {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: testsrv.Body("hello")})
		require.NoError(t, err)
	}
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}})
	require.Error(t, err)

	out := text(t, m)
	has(t, out, "# TYPE rpc_server_duration_seconds histogram\n")
	has(t, out, "rpc_server_duration_seconds_count{"+unaryLabels+`,rpc_grpc_status_code="0"} 2`+"\n")
	has(t, out, "rpc_server_duration_seconds_count{"+unaryLabels+`,rpc_grpc_status_code="5"} 1`+"\n")
	// Three requests (9, 9 and 4 bytes), two responses of 9 bytes.
	has(t, out, "rpc_server_request_size_bytes_count{"+unaryLabels+"} 3\n")
	has(t, out, "rpc_server_request_size_bytes_sum{"+unaryLabels+"} 22\n")
	has(t, out, "rpc_server_response_size_bytes_sum{"+unaryLabels+"} 18\n")
	has(t, out, "rpc_server_responses_per_rpc_sum{"+unaryLabels+`,rpc_grpc_status_code="5"} 0`+"\n")
	require.NotContains(t, out, "rpc_client_duration_seconds_count", "no client calls were measured")
}

func TestServerAndClientStreams(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{},
		[]rpc.ServerOption{rpc.StreamInterceptor(m.StreamServerInterceptor())},
		rpc.WithStreamInterceptor(m.StreamClientInterceptor()))
	st, err := c.FullDuplexCall(context.Background())
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{Payload: testsrv.Body("ab")}))
		_, err := st.Recv()
		require.NoError(t, err)
	}
	require.NoError(t, st.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Aborted)}}))
	_, err = st.Recv()
	require.Error(t, err)

	const l = `rpc_system="grpc",rpc_service="grpc.testing.TestService",rpc_method="FullDuplexCall"`
	require.Eventually(t, func() bool {
		return strings.Contains(text(t, m), "rpc_server_requests_per_rpc_sum{"+l+`,rpc_grpc_status_code="10"} 4`)
	}, 5e9, 1e7)
	out := text(t, m)
	has(t, out, "rpc_server_responses_per_rpc_sum{"+l+`,rpc_grpc_status_code="10"} 3`+"\n")
	has(t, out, "rpc_client_requests_per_rpc_sum{"+l+`,rpc_grpc_status_code="10"} 4`+"\n")
	has(t, out, "rpc_client_responses_per_rpc_sum{"+l+`,rpc_grpc_status_code="10"} 3`+"\n")
	has(t, out, "rpc_client_duration_seconds_count{"+l+`,rpc_grpc_status_code="10"} 1`+"\n")
	has(t, out, "rpc_client_request_size_bytes_count{"+l+"} 4\n")
	has(t, out, "rpc_client_response_size_bytes_sum{"+l+"} 18\n") // 3 × 6 bytes
}

func TestClientUnaryWithFailures(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{}, nil, rpc.WithUnaryInterceptor(m.UnaryClientInterceptor()),
		rpc.WithStreamInterceptor(m.StreamClientInterceptor()))
	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Unavailable)}})
	require.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{})
	require.Error(t, err)
	st, err := c.FullDuplexCall(ctx)
	if err == nil {
		_, err = st.Recv()
	}
	require.Error(t, err)
	out := text(t, m)
	has(t, out, "rpc_client_duration_seconds_count{"+unaryLabels+`,rpc_grpc_status_code="14"} 1`+"\n")
	has(t, out, "rpc_client_duration_seconds_count{"+unaryLabels+`,rpc_grpc_status_code="1"} 1`+"\n")
	has(t, out, `rpc_client_duration_seconds_count{rpc_system="grpc",rpc_service="grpc.testing.TestService",rpc_method="FullDuplexCall",rpc_grpc_status_code="1"} 1`+"\n")
}

// sample matches one sample line of the text format.
var sample = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\} [0-9.e+-]+$|^[a-zA-Z_:][a-zA-Z0-9_:]* [0-9.e+-]+$`)

func TestHTTPHandler(t *testing.T) {
	m, err := metrics.New(metrics.Options{DurationBuckets: []float64{1}})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{}, []rpc.ServerOption{rpc.UnaryInterceptor(m.UnaryServerInterceptor())})
	_, err = c.EmptyCall(context.Background(), &testpb.Empty{})
	require.NoError(t, err)

	hs := httptest.NewServer(m)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	types := 0
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			types++
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		require.Regexp(t, sample, line)
	}
	require.Equal(t, 5, types, "the server side's five histograms; unused families are left out")
	require.Contains(t, string(body), `rpc_server_duration_seconds_bucket{rpc_system="grpc",rpc_service="grpc.testing.TestService",rpc_method="EmptyCall",rpc_grpc_status_code="0",le="1"} 1`)

	resp, err = http.Post(hs.URL, "text/plain", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestHandlerContextErrorCountedAsTheClientSeesIt(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	svc := &testsrv.Service{Unary: func(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
		return nil, context.Canceled
	}}
	c := testsrv.Start(t, svc, []rpc.ServerOption{rpc.UnaryInterceptor(m.UnaryServerInterceptor())})
	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	require.Equal(t, codes.Canceled, status.Code(err))
	require.Contains(t, text(t, m), "rpc_server_duration_seconds_count{"+unaryLabels+`,rpc_grpc_status_code="1"} 1`+"\n")
}

func TestStatsHandlerRecordsWireFigures(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	c := testsrv.Start(t, &testsrv.Service{},
		[]rpc.ServerOption{rpc.StatsHandlerOption(m.StatsHandler())},
		rpc.WithStatsHandler(m.StatsHandler()))
	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: testsrv.Body("hello")})
	require.NoError(t, err)
	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound)}})
	require.Error(t, err)

	ok := unaryLabels + `,rpc_grpc_status_code="0"`
	// The server reports each call once its stream has closed, from that
	// call's goroutine: the two reports may come in either order.
	require.Eventually(t, func() bool {
		out := text(t, m)
		return strings.Contains(out, "rpc_server_wire_received_bytes_count{"+ok+"} 1") &&
			strings.Contains(out, "rpc_server_wire_received_bytes_count{"+unaryLabels+`,rpc_grpc_status_code="5"} 1`)
	}, 5e9, 1e7)
	out := text(t, m)
	// A 9-byte message travels with its 5-byte prefix.
	has(t, out, "rpc_client_wire_sent_bytes_sum{"+ok+"} 14\n")
	has(t, out, "rpc_server_wire_received_bytes_sum{"+ok+"} 14\n")
	has(t, out, "rpc_server_wire_sent_bytes_sum{"+ok+"} 14\n")
	has(t, out, "rpc_client_wire_received_bytes_sum{"+ok+"} 14\n")
	has(t, out, "rpc_client_time_to_first_byte_seconds_count{"+ok+"} 1\n")
	require.NotContains(t, out, "rpc_server_duration_seconds", "the interceptors are not installed here")
}

// has fails with just the missing line, not the whole exposition.
func has(t *testing.T, out, line string, msg ...any) {
	t.Helper()
	if !strings.Contains(out, line) {
		t.Fatalf("metrics lack %q %v", line, msg)
	}
}

func TestUnknownMethodsShareOneSeries(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	cc, _ := testsrv.StartConn(t, &testsrv.Service{}, []rpc.ServerOption{rpc.StatsHandlerOption(m.StatsHandler())})
	const calls = 50
	for i := range calls {
		method := fmt.Sprintf("/grpc.testing.TestService/Nope%d", i)
		if i%2 == 1 {
			method = fmt.Sprintf("/no.such.Service%d/Call", i)
		}
		err := cc.Invoke(context.Background(), method, &testpb.Empty{}, &testpb.Empty{})
		require.Equal(t, codes.Unimplemented, status.Code(err), method)
	}
	other := `rpc_system="grpc",rpc_service="other",rpc_method="other",rpc_grpc_status_code="12"`
	require.Eventually(t, func() bool {
		return strings.Contains(text(t, m), fmt.Sprintf("rpc_server_wire_received_bytes_count{%s} %d\n", other, calls))
	}, 5e9, 1e7)
	out := text(t, m)
	require.NotContains(t, out, "Nope", "an unknown method got a series of its own")
	require.NotContains(t, out, "no.such.Service")

	// A registered method keeps its own name.
	_, err = testpb.NewTestServiceClient(cc).EmptyCall(context.Background(), &testpb.Empty{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return strings.Contains(text(t, m), `rpc_method="EmptyCall",rpc_grpc_status_code="0"} 1`)
	}, 5e9, 1e7)
}
