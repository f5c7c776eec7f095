package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// hello is the body examples/h2/server answers on "/": the benchmark compares
// like with like, byte for byte.
var hello = []byte("Hello from h2rpc's HTTP/2 engine!\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:8444", "listen address (host:port), h2c only")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/", root)
	// MaxConcurrentStreams matches the engine's default, so h2load's -m 32
	// is within both servers' limits in the same way.
	srv := &http.Server{Addr: *addr, Handler: h2c.NewHandler(mux, &http2.Server{MaxConcurrentStreams: 100})}
	log.Printf("x/net/http2 h2c on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}

func root(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("content-type", "text/plain; charset=utf-8")
	h.Set("content-length", strconv.Itoa(len(hello)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(hello)
	}
}

// echo streams the request body back and ends with the trailer x-echo-bytes.
func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "x-echo-bytes")
	if ct := r.Header.Get("content-type"); ct != "" {
		w.Header().Set("content-type", ct)
	}
	w.WriteHeader(http.StatusOK)
	n, err := io.Copy(flushWriter{w}, r.Body)
	if err != nil {
		panic(http.ErrAbortHandler) // resets the stream rather than faking a clean end
	}
	w.Header().Set("x-echo-bytes", strconv.FormatInt(n, 10))
}

// flushWriter flushes after every write so the echo streams, like ours does.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
