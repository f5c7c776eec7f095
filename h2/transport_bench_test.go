package h2

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkTransportGet1K measures one GET of a 1 KiB body through an
// http.Client with our Transport, client and server in this process.
func BenchmarkTransportGet1K(b *testing.B) {
	body := make([]byte, 1024)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "content-length", Value: "1024"}}, &RespondOptions{Body: body})
	})}
	addr := newTestServer(b, srv)
	tr := &Transport{AllowHTTP: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	url := "http://" + addr + "/"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := c.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
	})
}
