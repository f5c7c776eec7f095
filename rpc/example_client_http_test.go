package rpc_test

import (
	"log"
	"net/http"

	"github.com/h2rpc/h2rpc/rpc"
)

// A Connect client: JSON messages, cacheable GET requests for methods
// marked NO_SIDE_EFFECTS, over HTTP/2 on the client's own connections.
func ExampleWithConnect() {
	cc, err := rpc.NewClient("api.example.com:443", rpc.WithTLS(nil),
		rpc.WithConnect(), rpc.WithProtoJSON(), rpc.WithHTTPGet())
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	// Generated stubs work unchanged: echopb.NewEchoClient(cc).Say(ctx, req).
}

// A gRPC-Web client over HTTP/1.1, through net/http's client, as a browser
// or an HTTP/1.1-only proxy would need.
func ExampleWithHTTPClient() {
	cc, err := rpc.NewClient("localhost:8080", rpc.WithInsecure(),
		rpc.WithGRPCWeb(), rpc.WithHTTPClient(http.DefaultClient))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
}
