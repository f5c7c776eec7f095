package main

import (
	"context"
	"flag"
	"io"
	"log"
	"net"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "listen address (host:port)")
	cert := flag.String("cert", "", "TLS certificate file (with -key: serve TLS with ALPN h2)")
	key := flag.String("key", "", "TLS key file")
	flag.Parse()

	srv := &h2.Server{Handler: proxy{dialTimeout: 10 * time.Second}, ErrorLog: log.Printf}
	var err error
	if *cert != "" || *key != "" {
		log.Printf("CONNECT proxy (TLS) on %s", *addr)
		err = srv.ListenAndServeTLS(*addr, *cert, *key)
	} else {
		log.Printf("CONNECT proxy (h2c) on %s", *addr)
		err = srv.ListenAndServe(*addr)
	}
	log.Fatal(err)
}

// proxy is the CONNECT handler.
type proxy struct {
	dialTimeout time.Duration
}

func (p proxy) ServeStream(st *h2.Stream) {
	if st.Method() != "CONNECT" || st.Protocol() != "" {
		st.Reset(h2.ErrCodeRefusedStream)
		return
	}
	ctx, cancel := context.WithTimeout(st.Context(), p.dialTimeout)
	target, err := (&net.Dialer{}).DialContext(ctx, "tcp", st.Authority())
	cancel()
	if err != nil {
		st.Reset(h2.ErrCodeConnect)
		return
	}
	defer target.Close()
	if err := st.Respond(h2.Header{{Name: ":status", Value: "200"}}, nil); err != nil {
		return
	}
	up := make(chan error, 1)
	go func() {
		// Client to target; the client's END_STREAM half-closes the target.
		_, err := io.Copy(target, st)
		if tc, ok := target.(*net.TCPConn); ok && err == nil {
			_ = tc.CloseWrite()
		}
		up <- err
	}()
	// Target to client; the target's EOF ends the stream.
	if _, err := io.Copy(st, target); err != nil {
		st.Reset(h2.ErrCodeConnect)
		target.Close() // unblocks the other copy
		<-up
		return
	}
	_ = st.CloseWrite()
	if err := <-up; err != nil {
		st.Reset(h2.ErrCodeConnect)
	}
}
