package interceptors_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/auth"
	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/interceptors/logging"
	"github.com/h2rpc/h2rpc/interceptors/metrics"
	"github.com/h2rpc/h2rpc/interceptors/ratelimit"
	"github.com/h2rpc/h2rpc/interceptors/recovery"
	"github.com/h2rpc/h2rpc/interceptors/timeout"
	"github.com/h2rpc/h2rpc/interceptors/validate"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/metadata"
)

// BenchmarkUnary measures what the recommended server chain adds to a
// small unary call (in memory, client and server in this process).
func BenchmarkUnary(b *testing.B) {
	lim, _ := ratelimit.PerServer(ratelimit.Limit{Rate: 1e12, Burst: 1 << 30})
	cfg := auth.Config{Bearer: checkToken}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	chains := map[string][]rpc.ServerOption{
		"none": nil,
		"full": {rpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recovery.WithLogger(logger)),
			logging.UnaryServerInterceptor(logging.WithLogger(logger)),
			timeout.UnaryServerInterceptor(time.Minute),
			ratelimit.UnaryServerInterceptor(lim),
			auth.UnaryServerInterceptor(cfg),
			validate.UnaryServerInterceptor(),
		), rpc.StatsHandlerOption(metrics.NewServerHandler(nil))},
	}
	for _, name := range []string{"none", "full"} {
		b.Run(name, func(b *testing.B) {
			c := testsrv.Start(b, &testsrv.Service{}, chains[name])
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer secret")
			req := &testpb.SimpleRequest{Payload: testsrv.Body("x")}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
