// Command rpc is the browser test's RPC server: an rpc.Server mounted on a
// mux beside the page that calls it, the mux served through h2's net/http
// bridge over TLS with AllowHTTP1, so that Chromium reaches it over HTTP/2
// and, with --disable-http2, over HTTP/1.1 on the same port.
//
// Routes: "/" the page (page.html), whose script calls the Echo service with
// the Connect protocol (JSON) and gRPC-Web (binary protobuf), framing
// messages by hand, and reports what it got (JSON) to "/report", which
// prints it on stdout as a line "progress JSON" (a call is under way) or
// "result JSON" (the page is done) for run.sh; "/proto" the protocol the
// request came in on; "/echo.v1.Echo/" the rpc.Server.
package main

import (
	"context"
	_ "embed"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
	echopb "github.com/h2rpc/h2rpc/proto/examples/echo"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

//go:embed page.html
var page string

// echoServer answers as the tutorial's does, and sets trailer metadata
// so that the page checks it arrives where each protocol puts it: a
// "trailer-" header (Connect unary), the end-of-stream message (Connect
// streams), the trailer envelope (gRPC-Web).
type echoServer struct {
	echopb.UnimplementedEchoServer
}

func (echoServer) Say(ctx context.Context, req *echopb.SayRequest) (*echopb.SayResponse, error) {
	if req.GetText() == "" {
		return nil, status.Error(codes.InvalidArgument, "text must not be empty")
	}
	if err := rpc.SetTrailer(ctx, metadata.Pairs("x-length", strconv.Itoa(len(req.GetText())))); err != nil {
		return nil, err
	}
	return &echopb.SayResponse{Text: req.GetText()}, nil
}

func (echoServer) Count(req *echopb.CountRequest, stream rpc.ServerStreamingServer[echopb.CountResponse]) error {
	if req.GetN() < 0 || req.GetN() > 1000 {
		return status.Errorf(codes.OutOfRange, "n must be within 0..1000, got %d", req.GetN())
	}
	stream.SetTrailer(metadata.Pairs("x-count", strconv.Itoa(int(req.GetN()))))
	for i := int32(1); i <= req.GetN(); i++ {
		if err := stream.Send(&echopb.CountResponse{Number: i}); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	cert := flag.String("cert", "", "TLS certificate file")
	key := flag.String("key", "", "TLS key file")
	flag.Parse()

	srv := rpc.NewServer()
	echopb.RegisterEchoServer(srv, echoServer{})

	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("/proto", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	})
	reports := log.New(os.Stdout, "", 0)
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		kind := r.URL.Query().Get("kind")
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || (kind != "progress" && kind != "result") {
			http.Error(w, "bad report", http.StatusBadRequest)
			return
		}
		reports.Printf("%s %s", kind, strings.ReplaceAll(string(body), "\n", " "))
	})
	mux.Handle("/echo.v1.Echo/", srv)
	hs := &h2.Server{HTTP: mux, AllowHTTP1: true, ErrorLog: log.Printf}
	log.Fatal(hs.ListenAndServeTLS(*addr, *cert, *key))
}
