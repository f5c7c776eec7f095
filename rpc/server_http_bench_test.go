package rpc

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkServeHTTP measures a 1-byte unary call to a Server mounted on
// net/http's own server, to compare with BenchmarkUnary/tcp (our engine):
// gRPC from our client over h2c, and Connect with JSON from net/http's
// client over HTTP/1.1 (keep-alive).
func BenchmarkServeHTTP(b *testing.B) {
	srv := NewServer()
	srv.RegisterService(&echoDesc, &echoImpl{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv, Protocols: new(http.Protocols)}
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = hs.Serve(l) }()
	b.Cleanup(func() { _ = hs.Close() })

	b.Run("grpc-h2c", func(b *testing.B) {
		cc, err := NewClient(l.Addr().String(), WithInsecure())
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		ctx := context.Background()
		in, out := wrapperspb.String("x"), new(wrapperspb.StringValue)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := cc.Invoke(ctx, "/test.Echo/Echo", in, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("connect-json-http1", func(b *testing.B) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		url := "http://" + l.Addr().String() + "/test.Echo/Echo"
		body := []byte(`"x"`)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}
