package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

var (
	base        = flag.String("base", "", "the server's base URL, http://host:port (h2c) or https://host:port")
	caFile      = flag.String("ca", "", "PEM file of the certificate to trust (TLS)")
	peer        = flag.String("peer", "peer", "the server's name, printed before each check")
	docroot     = flag.String("docroot", "", "directory the server serves index.html and big.bin from")
	echoPath    = flag.String("echo", "", "path that streams the request body back (empty: no upload checks)")
	getTrailer  = flag.String("get-trailer", "", "name: value of a trailer every response carries")
	echoTrailer = flag.String("echo-trailer", "", "name of a trailer the echo response carries")
	seenTrailer = flag.String("seen-trailer", "", "name of an echo response trailer that repeats our request trailer x-request-trailer")
	cancelOn    = flag.String("cancel", "get", "where to cancel a request: get (during /big.bin's body) or echo (during an echo that streams back)")
)

var failed int

func check(name string, err error) {
	if err != nil {
		fmt.Printf("FAIL %s %s: %v\n", *peer, name, err)
		failed++
		return
	}
	fmt.Printf("ok   %s %s\n", *peer, name)
}

func main() {
	flag.Parse()
	var dials atomic.Int32
	tr := &h2.Transport{AllowHTTP: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Println("FAIL", err)
			os.Exit(1)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	tlsOn := strings.HasPrefix(*base, "https://")

	for _, name := range []string{"index.html", "big.bin"} {
		check("GET /"+name, getFile(c, name, tlsOn))
	}
	check("50 concurrent GETs on one session", func() error {
		before := dials.Load()
		tr.CloseIdleConnections()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- getFile(c, "index.html", tlsOn)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		if n := dials.Load() - before; n != 1 {
			return fmt.Errorf("%d dials", n)
		}
		return nil
	}())
	if *cancelOn == "echo" {
		check("cancel during a streamed echo", cancelMidEcho(c))
	} else {
		check("cancel while reading an 8 MiB body", cancelMidBody(c))
	}
	if *echoPath != "" {
		check("POST 1 MiB streamed and echoed, with a request trailer", echo(c))
	}
	tr.CloseIdleConnections()
	if failed > 0 {
		os.Exit(1)
	}
}

func getFile(c *http.Client, name string, tlsOn bool) error {
	want, err := os.ReadFile(filepath.Join(*docroot, name))
	if err != nil {
		return err
	}
	res, err := c.Get(*base + "/" + name)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	switch {
	case err != nil:
		return err
	case res.StatusCode != 200:
		return fmt.Errorf("status %d", res.StatusCode)
	case res.Proto != "HTTP/2.0":
		return fmt.Errorf("proto %s", res.Proto)
	case !bytes.Equal(got, want):
		return fmt.Errorf("%d bytes differ from the %d of the file", len(got), len(want))
	case res.ContentLength != -1 && res.ContentLength != int64(len(want)):
		return fmt.Errorf("ContentLength %d", res.ContentLength)
	case tlsOn != (res.TLS != nil):
		return fmt.Errorf("Response.TLS is %v over %s", res.TLS != nil, *base)
	}
	if *getTrailer != "" {
		k, v, _ := strings.Cut(*getTrailer, ": ")
		if got := res.Trailer.Get(k); got != v {
			return fmt.Errorf("trailer %s = %q, want %q", k, got, v)
		}
	}
	return nil
}

func cancelMidBody(c *http.Client) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", *base+"/big.bin", nil)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.ReadFull(res.Body, make([]byte, 1000)); err != nil {
		return err
	}
	cancel()
	_, err = io.Copy(io.Discard, res.Body)
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	return nil
}

// cancelMidEcho cancels an upload whose echo has begun to come back.
func cancelMidEcho(c *http.Client) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequestWithContext(ctx, "POST", *base+*echoPath, pr)
	go func() { _, _ = pw.Write([]byte("first")) }()
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.ReadFull(res.Body, make([]byte, 5)); err != nil {
		return err
	}
	cancel()
	_, err = io.Copy(io.Discard, res.Body)
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	return nil
}

func echo(c *http.Client) error {
	want := bytes.Repeat([]byte("transport upload "), 1<<20/17+1)[:1<<20]
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", *base+*echoPath, pr)
	req.Trailer = http.Header{"X-Request-Trailer": nil}
	go func() {
		for off := 0; off < len(want); off += 10000 {
			if _, err := pw.Write(want[off:min(off+10000, len(want))]); err != nil {
				return
			}
		}
		req.Trailer.Set("X-Request-Trailer", "yes")
		_ = pw.Close()
	}()
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	switch {
	case err != nil:
		return err
	case res.StatusCode != 200:
		return fmt.Errorf("status %d", res.StatusCode)
	case !bytes.Equal(got, want):
		return fmt.Errorf("%d bytes back, differ from the %d sent", len(got), len(want))
	}
	if *echoTrailer != "" && res.Trailer.Get(*echoTrailer) == "" {
		return fmt.Errorf("no trailer %s in %v", *echoTrailer, res.Trailer)
	}
	if *seenTrailer != "" && res.Trailer.Get(*seenTrailer) != "yes" {
		return fmt.Errorf("trailer %s = %q: the server did not see our request trailer", *seenTrailer, res.Trailer.Get(*seenTrailer))
	}
	return nil
}
