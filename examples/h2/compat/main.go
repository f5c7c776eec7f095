package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address (host:port)")
	cert := flag.String("cert", "", "TLS certificate file (with -key: serve TLS, ALPN h2 and http/1.1)")
	key := flag.String("key", "", "TLS key file")
	dir := flag.String("dir", ".", "directory served under /files/")
	flag.Parse()

	srv := newServer(*dir)
	srv.ErrorLog = log.Printf
	var err error
	if *cert != "" || *key != "" {
		log.Printf("serving HTTP/2 and HTTP/1.1 (TLS) on %s", *addr)
		err = srv.ListenAndServeTLS(*addr, *cert, *key)
	} else {
		log.Printf("serving HTTP/2 (prior knowledge) and HTTP/1.1 (cleartext) on %s", *addr)
		err = srv.ListenAndServe(*addr)
	}
	log.Fatal(err)
}

// newServer is the h2 server of the example: the handler through the
// net/http bridge, HTTP/1.1 allowed.
func newServer(dir string) *h2.Server {
	return &h2.Server{HTTP: newHandler(dir), AllowHTTP1: true}
}

func newHandler(dir string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", onRequest)
	mux.HandleFunc("/echo", echo)
	mux.Handle("/files/", http.StripPrefix("/files/", http.FileServer(http.Dir(dir))))
	return mux
}

// onRequest is Node's example handler: which protocol answered.
func onRequest(w http.ResponseWriter, r *http.Request) {
	alpn := ""
	if r.TLS != nil {
		alpn = r.TLS.NegotiatedProtocol
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"alpnProtocol": alpn,
		"httpVersion":  strings.TrimPrefix(r.Proto, "HTTP/"),
	})
}

// echo streams the body back as it arrives, flushing each piece, and
// reports the byte count in a trailer.
func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Echo-Bytes")
	if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	// HTTP/1.1 would otherwise stop reading the body once the response starts.
	_ = http.NewResponseController(w).EnableFullDuplex()
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, err := r.Body.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return
			}
			w.(http.Flusher).Flush()
			n += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	w.Header().Set("X-Echo-Bytes", strconv.FormatInt(n, 10))
}
