package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

var hello = []byte("Hello from h2rpc's HTTP/2 engine!\n")

func main() {
	cert := flag.String("cert", "", "TLS certificate file (with -key: serve TLS with ALPN h2)")
	key := flag.String("key", "", "TLS key file")
	flag.Parse()

	shutdown := make(chan error, 1)
	srv := newServer(shutdown)
	srv.ErrorLog = log.Printf

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if *cert != "" {
		srv.TLSConfig, err = tlsConfig(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	baseline := runtime.NumGoroutine()
	go func() {
		if err := srv.Serve(ln); err != nil && err != h2.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	// Never outlive the test run that started us.
	select {
	case err := <-shutdown:
		fmt.Printf("shutdown: %v\n", err)
		// Shutdown has ended every session and Serve has returned: what
		// they started (readers, writers, handlers) must be gone too.
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Printf("leaked goroutines: %d\n", max(0, runtime.NumGoroutine()-baseline))
	case <-time.After(60 * time.Second):
		fmt.Println("no shutdown within 60s")
		os.Exit(1)
	}
}

// newServer returns the server with its routes; the result of the Shutdown
// that "/shutdown" starts is sent on shutdown.
func newServer(shutdown chan<- error) *h2.Server {
	srv := &h2.Server{}
	srv.Handler = h2.HandlerFunc(func(st *h2.Stream) { route(st, srv, shutdown) })
	return srv
}

func route(st *h2.Stream, srv *h2.Server, shutdown chan<- error) {
	sess := st.Session()
	switch st.Path() {
	case "/ping-me":
		// A server-initiated PING; the client acks it with the same payload.
		ctx, cancel := context.WithTimeout(st.Context(), 5*time.Second)
		defer cancel()
		rtt, err := sess.Ping(ctx, [8]byte{'s', 'r', 'v', 'p', 'i', 'n', 'g', '!'})
		if err != nil {
			st.Respond(h2.Header{{Name: ":status", Value: "500"}, {Name: "x-error", Value: err.Error()}}, &h2.RespondOptions{EndStream: true})
			return
		}
		st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "x-ping-rtt-ns", Value: strconv.FormatInt(rtt.Nanoseconds(), 10)}}, &h2.RespondOptions{EndStream: true})
	case "/update-settings":
		// New SETTINGS from the server; the answer waits for the client's ack.
		ctx, cancel := context.WithTimeout(st.Context(), 5*time.Second)
		defer cancel()
		if err := sess.UpdateSettings(ctx, h2.Settings{MaxConcurrentStreams: 50}); err != nil {
			st.Respond(h2.Header{{Name: ":status", Value: "500"}, {Name: "x-error", Value: err.Error()}}, &h2.RespondOptions{EndStream: true})
			return
		}
		ls := sess.LocalSettings()
		st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "x-max-streams", Value: strconv.Itoa(int(ls.MaxConcurrentStreams))}}, &h2.RespondOptions{EndStream: true})
	case "/shutdown":
		st.Respond(h2.Header{{Name: ":status", Value: "200"}}, &h2.RespondOptions{EndStream: true})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			shutdown <- srv.Shutdown(ctx)
		}()
	case "/echo":
		if err := st.Respond(h2.Header{{Name: ":status", Value: "200"}}, nil); err != nil {
			return
		}
		n, err := io.Copy(st, st)
		if err != nil {
			st.Reset(h2.ErrCodeInternal)
			return
		}
		_ = st.WriteTrailers(h2.Header{{Name: "x-echo-bytes", Value: strconv.FormatInt(n, 10)}})
	default:
		st.Respond(h2.Header{{Name: ":status", Value: "200"}, {Name: "content-length", Value: strconv.Itoa(len(hello))}}, nil)
		_, _ = st.Write(hello)
	}
}
