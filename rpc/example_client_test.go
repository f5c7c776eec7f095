package rpc_test

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
)

// A server with TLS, limits and keepalive, shut down gracefully.
func ExampleNewServer() {
	cert, err := tls.LoadX509KeyPair("server.crt", "server.key")
	if err != nil {
		log.Fatal(err)
	}
	srv := rpc.NewServer(
		rpc.Creds(&tls.Config{Certificates: []tls.Certificate{cert}}),
		rpc.MaxRecvMsgSize(8<<20),
		rpc.KeepaliveParams(rpc.ServerParameters{MaxConnectionAge: 30 * time.Minute}),
	)
	// Register generated services here: echopb.RegisterEchoServer(srv, impl).
	lis, err := net.Listen("tcp", ":8443")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(lis)

	// On SIGTERM: stop accepting, let running calls finish for up to 10s.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print("forced shutdown: ", err)
	}
}

// A client over TLS with the system's roots, a keepalive that finds a dead
// server within 40s, and a deadline on every call.
func ExampleNewClient() {
	cc, err := rpc.NewClient("api.example.com:443",
		rpc.WithTLS(nil),
		rpc.WithKeepaliveParams(rpc.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = ctx // pass to generated stubs: echopb.NewEchoClient(cc).Say(ctx, req)
}
