package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

func main() {
	serve := flag.Bool("serve", false, "serve the feature routes")
	cert := flag.String("cert", "", "TLS certificate file (with -key, -serve uses TLS)")
	key := flag.String("key", "", "TLS key file")
	client := flag.String("client", "", "run the client checks against this URL")
	ca := flag.String("ca", "", "CA certificate for -client over TLS")
	pad := flag.String("pad", "", "with -serve, pad HEADERS and DATA: none, max or aligned")
	flag.Parse()
	switch {
	case *serve:
		strategy, ok := paddings[*pad]
		if !ok {
			log.Fatalf("unknown -pad %q", *pad)
		}
		runServer(*cert, *key, strategy)
	case *client != "":
		if !runClient(*client, *ca) {
			os.Exit(1)
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
}

func runServer(certFile, keyFile string, pad h2.PaddingStrategy) {
	srv := newServer()
	srv.Options.Padding = pad
	srv.ErrorLog = log.Printf
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			log.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{c}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		time.Sleep(2 * time.Minute) // never outlive the run that started us
		os.Exit(1)
	}()
	if err := srv.Serve(ln); err != nil {
		log.Fatal(err)
	}
}

// dial connects to rawURL's host with the options the checks need.
func dial(rawURL, caFile string, o h2.ClientOptions) (*h2.Session, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(pem)
		o.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h2.Dial(ctx, u.Host, &o)
}

// check runs one named check and prints its outcome.
func check(name string, fn func() error) bool {
	if err := fn(); err != nil {
		fmt.Printf("FAIL %s: %v\n", name, err)
		return false
	}
	fmt.Printf("ok %s\n", name)
	return true
}

func runClient(rawURL, caFile string) bool {
	ok := true
	for _, c := range clientChecks {
		ok = check(c.name, func() error { return c.fn(rawURL, caFile) }) && ok
	}
	return ok
}

type clientCheck struct {
	name string
	fn   func(url, ca string) error
}

// clientChecks are filled by the files of each feature.
var clientChecks []clientCheck

// routes are the server's paths, filled likewise.
var routes = map[string]func(st *h2.Stream){}

func newServer() *h2.Server {
	srv := &h2.Server{}
	srv.Options.Settings.EnableConnectProtocol = true
	srv.Options.Settings.Custom = []h2.Setting{serverCustom}
	// Sessions quiet for this long are closed gracefully (Options.Timeout
	// without Hooks.OnTimeout); every other check is far quicker.
	srv.Options.Timeout = 1500 * time.Millisecond
	srv.Options.Origins = []string{"https://a.example", "https://b.example:8443"}
	srv.Handler = h2.HandlerFunc(func(st *h2.Stream) {
		if st.Method() == "CONNECT" {
			serveConnect(st)
			return
		}
		if r := routes[st.Path()]; r != nil {
			r(st)
			return
		}
		_ = st.Respond(h2.Header{{Name: ":status", Value: "404"}}, &h2.RespondOptions{EndStream: true})
	})
	return srv
}

func ctx10() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
