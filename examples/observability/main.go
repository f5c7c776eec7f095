package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/otelh2rpc"
	pb "github.com/h2rpc/h2rpc/proto/examples/helloworld"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	addr := flag.String("addr", "localhost:50051", "the Greeter's address")
	metricsAddr := flag.String("metrics", "localhost:9464", "where Prometheus scrapes /metrics")
	every := flag.Duration("every", time.Second, "how often the built-in client greets (0: never)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := listenAndRun(ctx, *addr, *metricsAddr, *every, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

func listenAndRun(ctx context.Context, addr, metricsAddr string, every time.Duration, out io.Writer) error {
	rpcLis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	metricsLis, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		rpcLis.Close()
		return err
	}
	fmt.Fprintf(out, "Greeter on %s, metrics on http://%s/metrics\n", rpcLis.Addr(), metricsLis.Addr())
	return run(ctx, rpcLis, metricsLis, every)
}

type greeter struct{ pb.UnimplementedGreeterServer }

func (greeter) SayHello(_ context.Context, req *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + req.GetName() + "!"}, nil
}

// run serves the Greeter on rpcLis and the metrics on metricsLis until ctx
// ends; with every > 0 a client greets the server at that pace.
func run(ctx context.Context, rpcLis, metricsLis net.Listener, every time.Duration) error {
	// The SDK's MeterProvider reads into the Prometheus exporter, which
	// registers with a registry of its own: promhttp serves that.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())

	srv := rpc.NewServer(rpc.StatsHandlerOption(otelh2rpc.NewServerHandler(
		otelh2rpc.WithMeterProvider(mp), otelh2rpc.WithTransportMetrics())))
	pb.RegisterGreeterServer(srv, greeter{})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(rpcLis) }()
	go func() { errs <- hs.Serve(metricsLis) }()
	if every > 0 {
		cc, err := rpc.NewClient(rpcLis.Addr().String(), rpc.WithInsecure(),
			rpc.WithStatsHandler(otelh2rpc.NewClientHandler(otelh2rpc.WithMeterProvider(mp))))
		if err != nil {
			return err
		}
		defer cc.Close()
		go greetEvery(ctx, pb.NewGreeterClient(cc), every)
	}

	select {
	case err = <-errs: // a server failed
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, hs.Shutdown(shut), srv.Shutdown(shut))
}

func greetEvery(ctx context.Context, c pb.GreeterClient, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// An error is recorded in the metrics like any outcome.
			_, _ = c.SayHello(ctx, &pb.HelloRequest{Name: "observer"})
		}
	}
}
