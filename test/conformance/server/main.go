// Command server is the conformance server of the Connect conformance suite
// (connectrpc.com/conformance) for h2rpc: it reads a ServerCompatRequest
// from stdin, starts an rpc.Server as the request asks, and writes a
// ServerCompatResponse naming its address to stdout. HTTP/2 requests are
// served by our own engine (Server.Serve), HTTP/1.1 ones by net/http's
// server through Server.ServeHTTP (h2 too when TLS negotiates it), so the
// suite covers both paths; with -http1=own, HTTP/1.1 ones are served by
// Serve too, on our own HTTP/1.1.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/h2rpc/h2rpc/rpc"
	v1 "github.com/h2rpc/h2rpc/test/conformance/internal/conformancev1"
	"google.golang.org/protobuf/proto"
)

func main() {
	log.SetPrefix("conformance server: ")
	http1 := flag.String("http1", "net-http", "who serves HTTP/1.1: net-http (ServeHTTP) or own (Serve)")
	flag.Parse()
	var req v1.ServerCompatRequest
	if err := readDelimited(os.Stdin, &req); err != nil {
		log.Fatalf("reading the request: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var opts []rpc.ServerOption
	if n := req.GetMessageReceiveLimit(); n > 0 {
		opts = append(opts, rpc.MaxRecvMsgSize(int(n)))
	}
	var tc *tls.Config
	if req.GetUseTls() {
		if tc, err = tlsConfig(&req); err != nil {
			log.Fatal(err)
		}
	}
	nethttp := req.GetHttpVersion() != v1.HTTPVersion_HTTP_VERSION_2 && *http1 != "own"
	if tc != nil && !nethttp {
		opts = append(opts, rpc.Creds(tc))
	}
	srv := rpc.NewServer(opts...)
	v1.RegisterConformanceServiceServer(srv, &conformanceServer{})
	serve := func() error { return srv.Serve(l) }
	if nethttp {
		hs := &http.Server{Handler: srv, TLSConfig: tc, Protocols: new(http.Protocols)}
		hs.Protocols.SetHTTP1(true)
		hs.Protocols.SetHTTP2(true)
		hs.Protocols.SetUnencryptedHTTP2(true)
		serve = func() error {
			if tc != nil {
				return hs.ServeTLS(l, "", "")
			}
			return hs.Serve(l)
		}
	}
	resp := &v1.ServerCompatResponse{Host: "127.0.0.1", Port: uint32(l.Addr().(*net.TCPAddr).Port)}
	if tc != nil {
		resp.PemCert = req.GetServerCreds().GetCert()
	}
	if err := writeDelimited(os.Stdout, resp); err != nil {
		log.Fatalf("writing the response: %v", err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		srv.Stop()
		os.Exit(0)
	}()
	if err := serve(); err != nil && !errors.Is(err, rpc.ErrServerClosed) && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// tlsConfig uses the runner's certificate, and requires client
// certificates signed by the one it names, if any.
func tlsConfig(req *v1.ServerCompatRequest) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(req.GetServerCreds().GetCert(), req.GetServerCreds().GetKey())
	if err != nil {
		return nil, fmt.Errorf("server credentials: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	if ca := req.GetClientTlsCert(); len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("client certificate: no PEM certificate found")
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// readDelimited reads a message behind its 4-byte big-endian length.
func readDelimited(r io.Reader, m proto.Message) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return proto.Unmarshal(b, m)
}

func writeDelimited(w io.Writer, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	_, err = w.Write(append(out, b...))
	return err
}
