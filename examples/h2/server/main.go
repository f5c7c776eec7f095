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

func root(st *h2.Stream) {
	hdr := h2.Header{
		{Name: ":status", Value: "200"},
		{Name: "content-type", Value: "text/plain; charset=utf-8"},
		{Name: "content-length", Value: strconv.Itoa(len(hello))},
	}
	if st.Method() == "HEAD" {
		_ = st.Respond(hdr, &h2.RespondOptions{EndStream: true})
		return
	}
	if err := st.Respond(hdr, nil); err != nil {
		return
	}
	_, _ = st.Write(hello)
	_ = st.CloseWrite()
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
