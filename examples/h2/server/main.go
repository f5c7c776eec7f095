package main

import (
	"flag"
	"io"
	"log"
	"strconv"

	"github.com/h2rpc/h2rpc/h2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address (host:port)")
	cert := flag.String("cert", "", "TLS certificate file (with -key: serve TLS with ALPN h2)")
	key := flag.String("key", "", "TLS key file")
	flag.Parse()

	srv := &h2.Server{Handler: h2.HandlerFunc(route), ErrorLog: log.Printf}
	var err error
	if *cert != "" || *key != "" {
		log.Printf("serving h2 (TLS) on %s", *addr)
		err = srv.ListenAndServeTLS(*addr, *cert, *key)
	} else {
		log.Printf("serving h2c on %s", *addr)
		err = srv.ListenAndServe(*addr)
	}
	log.Fatal(err)
}

var hello = []byte("Hello from h2rpc's HTTP/2 engine!\n")

func route(st *h2.Stream) {
	switch st.Path() {
	case "/echo":
		echo(st)
	default:
		root(st)
	}
}

// rootHeader is every "/" response's header list. The list is the same for
// every request, so it is built once: Respond reads it and never modifies it,
// and a list built per request was a third of the allocations of a request.
var rootHeader = h2.Header{
	{Name: ":status", Value: "200"},
	{Name: "content-type", Value: "text/plain; charset=utf-8"},
	{Name: "content-length", Value: strconv.Itoa(len(hello))},
}

func root(st *h2.Stream) {
	if st.Method() == "HEAD" {
		_ = st.Respond(rootHeader, &h2.RespondOptions{EndStream: true})
		return
	}
	// Headers, body and END_STREAM in one step: one lock round trip on the
	// session instead of three (Respond, Write, CloseWrite).
	_ = st.Respond(rootHeader, &h2.RespondOptions{Body: hello})
}

func echo(st *h2.Stream) {
	hdr := h2.Header{{Name: ":status", Value: "200"}}
	if ct := st.Header().Get("content-type"); ct != "" {
		hdr.Add("content-type", ct)
	}
	if err := st.Respond(hdr, nil); err != nil {
		return
	}
	n, err := io.Copy(st, st)
	if err != nil {
		st.Reset(h2.ErrCodeInternal)
		return
	}
	_ = st.WriteTrailers(h2.Header{{Name: "x-echo-bytes", Value: strconv.FormatInt(n, 10)}})
}
