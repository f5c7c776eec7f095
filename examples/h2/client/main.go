package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

func main() {
	rawURL := flag.String("url", "http://127.0.0.1:8443/", "URL to request (http:// = h2c, https:// = TLS)")
	data := flag.String("data", "", "send a POST with this body")
	verbose := flag.Bool("v", false, "print :status, response headers and trailers on stderr")
	insecure := flag.Bool("k", true, "with https://, do not verify the server certificate")
	flag.Parse()
	if err := run(*rawURL, *data, *verbose, *insecure); err != nil {
		log.Fatal(err)
	}
}

func run(rawURL, data string, verbose, insecure bool) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443"}[u.Scheme]+map[string]string{"http": "80"}[u.Scheme])
	}
	opts := &h2.ClientOptions{Authority: u.Host}
	if u.Scheme == "https" {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: insecure}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := h2.Dial(ctx, addr, opts)
	if err != nil {
		return err
	}
	defer sess.Close()

	if rtt, err := sess.Ping(ctx, [8]byte{}); err == nil {
		fmt.Fprintf(os.Stderr, "* ping RTT %v (%s)\n", rtt, sess.Protocol())
	}

	method, path := "GET", u.RequestURI()
	if data != "" {
		method = "POST"
	}
	hdr := h2.Header{{Name: ":method", Value: method}, {Name: ":path", Value: path}, {Name: "user-agent", Value: "h2rpc-example/1"}}
	st, err := sess.Request(ctx, hdr, &h2.RequestOptions{EndStream: data == ""})
	if err != nil {
		return err
	}
	if data != "" {
		if _, err := io.Copy(st, strings.NewReader(data)); err != nil {
			return err
		}
		if err := st.CloseWrite(); err != nil {
			return err
		}
	}
	resp, err := st.Response(ctx)
	if err != nil {
		return err
	}
	if verbose {
		printHeader(resp)
	}
	if _, err := io.Copy(os.Stdout, st); err != nil {
		return err
	}
	if verbose {
		printHeader(st.Trailers())
		s := sess.Stats()
		fmt.Fprintf(os.Stderr, "* %d bytes in, %d bytes out; closing gracefully\n", s.BytesReceived, s.BytesSent)
	}
	return nil
}

func printHeader(h h2.Header) {
	for _, f := range h {
		fmt.Fprintf(os.Stderr, "%s: %s\n", f.Name, f.Value)
	}
}
