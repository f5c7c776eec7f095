package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/services/health"
	"github.com/h2rpc/h2rpc/services/reflection"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
)

func main() {
	port := flag.Int("port", 10000, "port to listen on")
	useTLS := flag.Bool("use_tls", false, "serve TLS (ALPN h2) instead of cleartext HTTP/2")
	certFile := flag.String("tls_cert_file", "", "TLS certificate (PEM), required with --use_tls")
	keyFile := flag.String("tls_key_file", "", "TLS private key (PEM), required with --use_tls")
	flag.Parse()
	if err := run(*port, *useTLS, *certFile, *keyFile); err != nil {
		fmt.Fprintln(os.Stderr, "interop server:", err)
		os.Exit(1)
	}
}

func run(port int, useTLS bool, certFile, keyFile string) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("--port %d out of range", port)
	}
	var opts []rpc.ServerOption
	if useTLS {
		if certFile == "" || keyFile == "" {
			return errors.New("--use_tls needs --tls_cert_file and --tls_key_file")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("loading TLS key pair: %w", err)
		}
		opts = append(opts, rpc.Creds(&tls.Config{Certificates: []tls.Certificate{cert}}))
	}
	l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	srv := rpc.NewServer(opts...)
	testservice.Register(srv)
	health.Register(srv) // grpc.health.v1.Health: SERVING until shutdown begins
	reflection.Register(srv)

	// Stop gracefully on SIGINT/SIGTERM so that scripts can clean up.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	// Serve returns as soon as Shutdown begins (as net/http's does); exiting
	// then would cut the calls Shutdown is letting finish.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	fmt.Fprintf(os.Stderr, "interop server listening on %s (tls=%v)\n", l.Addr(), useTLS)
	if err := srv.Serve(l); err != nil && !errors.Is(err, rpc.ErrServerClosed) {
		return err
	}
	<-drained
	return nil
}
