package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
)

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>h2 bridge</title></head>
<body><pre id="result">pending</pre>
<script>
(async () => {
  const out = {};
  try {
    out.proto = await (await fetch('/proto')).text();
    const res = await fetch('/stream');
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let text = '', reads = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += dec.decode(value, { stream: true });
    }
    out.stream = text;
    out.streamOK = res.ok;
    const r = await fetch('/files/data.txt', { headers: { Range: 'bytes=10-19' } });
    out.rangeStatus = r.status;
    out.contentRange = r.headers.get('content-range');
    out.range = await r.text();
    const e = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/files/data.txt'));
    out.nextHopProtocol = e ? e.nextHopProtocol : '';
  } catch (err) {
    out.error = String(err);
  }
  const js = JSON.stringify(out);
  document.getElementById('result').textContent = js;
  // run.sh reads the result in the server's log: Chromium's
  // --virtual-time-budget may dump the DOM before the last fetch is done.
  await fetch('/report', { method: 'POST', body: js });
})();
</script></body></html>
`

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	cert := flag.String("cert", "", "TLS certificate file")
	key := flag.String("key", "", "TLS key file")
	dir := flag.String("dir", ".", "directory served under /files/")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("/proto", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for i := range 5 {
			fmt.Fprintf(w, "chunk%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.Handle("/files/", http.StripPrefix("/files/", http.FileServer(http.Dir(*dir))))
	results := log.New(os.Stdout, "", 0)
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad report", http.StatusBadRequest)
			return
		}
		results.Printf("result %s", strings.ReplaceAll(string(body), "\n", " "))
	})
	srv := &h2.Server{HTTP: mux, AllowHTTP1: true, ErrorLog: log.Printf}
	log.Fatal(srv.ListenAndServeTLS(*addr, *cert, *key))
}
