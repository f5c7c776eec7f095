// Package rpc runs gRPC services and calls them, over the h2 HTTP/2 engine.
// It interoperates with grpc-go, grpc-js and every gRPC tool, and its names
// mirror grpc-go's, so code moves over by changing imports.
//
// A server registers generated services and serves a listener:
//
//	srv := rpc.NewServer()                      // options: Creds, ChainUnaryInterceptor, KeepaliveParams, ...
//	echopb.RegisterEchoServer(srv, echoServer{}) // from protoc-gen-h2rpc
//	lis, _ := net.Listen("tcp", ":50051")
//	go srv.Serve(lis)
//	defer srv.Shutdown(ctx) // GOAWAY, running calls finish
//
// A client connects lazily and must say whether it uses TLS:
//
//	cc, err := rpc.NewClient("localhost:50051", rpc.WithInsecure()) // or rpc.WithTLS(cfg)
//	defer cc.Close()
//	r, err := echopb.NewEchoClient(cc).Say(ctx, &echopb.SayRequest{Text: "hi"})
//
// The same client speaks Connect or gRPC-Web instead of gRPC with
// WithConnect or WithGRPCWeb: over HTTP/2 on its own connections, or over
// HTTP/1.1 and any other transport through WithHTTPClient; WithHTTPGet
// sends side-effect-free Connect calls as GET requests.
//
// Handlers return errors from package rpc/status to choose the code the
// caller sees, read and write metadata (rpc/metadata, SetHeader,
// SetTrailer) and see the caller's deadline and cancellation in their
// context. StatsHandlerOption and WithStatsHandler report every call (and,
// through RPCEventHandler and ConnStatsHandler, each step of it and each
// connection): package otelh2rpc builds OpenTelemetry on them. Calls whose connection fails end with UNAVAILABLE naming the
// cause; calls the server never processed are retried by themselves.
// NewInMemoryListener runs the same engine without a port, for tests.
//
// How the package is built: unary calls run on the streaming path (one code
// path for all four kinds); per-call state lives in one struct per side;
// message buffers come from size-classed pools, one for sending and one for
// receiving; rpc/status encodes google.rpc.Status itself, so the runtime
// registers no protobuf names that grpc-go also registers.
package rpc
