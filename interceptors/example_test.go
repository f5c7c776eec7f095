package interceptors_test

import (
	"context"
	"errors"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/auth"
	"github.com/h2rpc/h2rpc/interceptors/logging"
	"github.com/h2rpc/h2rpc/interceptors/metrics"
	"github.com/h2rpc/h2rpc/interceptors/ratelimit"
	"github.com/h2rpc/h2rpc/interceptors/recovery"
	"github.com/h2rpc/h2rpc/interceptors/retry"
	"github.com/h2rpc/h2rpc/interceptors/timeout"
	"github.com/h2rpc/h2rpc/interceptors/validate"
	"github.com/h2rpc/h2rpc/rpc"
)

func checkToken(_ context.Context, tok string) (*auth.Identity, error) {
	if tok == "secret" {
		return &auth.Identity{Subject: "alice"}, nil
	}
	return nil, errors.New("unknown token")
}

// Example builds the server and client chains in the recommended order
// (the same code as in README.md).
func Example() {
	lim, _ := ratelimit.PerServer(ratelimit.Limit{Rate: 1000, Burst: 100})
	authCfg := auth.Config{Bearer: checkToken, Public: []string{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}}
	srv := rpc.NewServer(rpc.ChainUnaryInterceptor(
		recovery.UnaryServerInterceptor(),
		logging.UnaryServerInterceptor(),
		timeout.UnaryServerInterceptor(30*time.Second),
		ratelimit.UnaryServerInterceptor(lim),
		auth.UnaryServerInterceptor(authCfg),
		validate.UnaryServerInterceptor(),
	), rpc.ChainStreamInterceptor(
		recovery.StreamServerInterceptor(),
		logging.StreamServerInterceptor(),
		timeout.StreamServerInterceptor(30*time.Second),
		ratelimit.StreamServerInterceptor(lim),
		auth.StreamServerInterceptor(authCfg),
		validate.StreamServerInterceptor(),
	), rpc.StatsHandlerOption(metrics.NewServerHandler(nil))) // through the global MeterProvider

	retrier, _ := retry.UnaryClientInterceptor(retry.Options{})
	cc, _ := rpc.NewClient("localhost:50051", rpc.WithInsecure(), rpc.WithChainUnaryInterceptor(
		timeout.UnaryClientInterceptor(10*time.Second),
		retrier,
		logging.UnaryClientInterceptor(), validate.UnaryClientInterceptor()),
		rpc.WithStatsHandler(metrics.NewClientHandler(nil)))
	_ = cc.Close()
	srv.Stop()
	// Output:
}
