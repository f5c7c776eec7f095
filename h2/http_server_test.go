package h2

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHTTPPanicBeforeHeadersAnswers500(t *testing.T) {
	goroutineLeakCheck(t)
	base, client, logs := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			w.Header().Set("X-Not-Sent", "1")
			_, _ = io.WriteString(w, "held, never sent")
			panic("boom")
		}
		_, _ = io.WriteString(w, "alive")
	}))
	res, err := client.Get(base + "/panic")
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	require.Empty(t, b)
	require.Empty(t, res.Header.Get("X-Not-Sent"))
	lines := logs.get()
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], "boom")
	require.Contains(t, lines[0], "/panic")

	res, err = client.Get(base + "/")
	require.NoError(t, err, "the server lives on")
	b, _ = io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "alive", string(b))
}

func TestHTTPPanicAfterHeadersResets(t *testing.T) {
	goroutineLeakCheck(t)
	logs := &logRecorder{}
	addr := newTestServer(t, &Server{ErrorLog: logs.logf, HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("after the headers")
	})})
	c := dialTest(t, addr, nil)
	for _, path := range []string{"/panic", "/abort"} {
		st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: path}}, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		// The reset may overtake the reading of the headers and partial body.
		if _, err := st.Response(ctxT(t)); err == nil {
			_, err = io.ReadAll(st)
			require.Error(t, err, path)
		}
		code, ok := st.ResetCode()
		require.True(t, ok, path)
		require.Equal(t, ErrCodeInternal, code, path)
	}
	lines := logs.get()
	require.Len(t, lines, 1, "ErrAbortHandler is not logged")
	require.True(t, strings.Contains(lines[0], "after the headers"))
}

// The bridge's share of a small round trip's allocations, as in
// TestRoundTripAllocations (same client, same body): the pooled request,
// header map and writer must stay pooled. The bound is what was measured
// when it was written; lower it when you win.
func TestHTTPRoundTripAllocations(t *testing.T) {
	srv := &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("pong"))
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	hdr := Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/p?q=1"}, {Name: "user-agent", Value: "test"}, {Name: "accept", Value: "*/*"}}
	buf := make([]byte, 16)
	ctx := ctxT(t)
	one := func() {
		st, err := c.Request(ctx, hdr, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctx)
		require.NoError(t, err)
		n, err := io.ReadFull(st, buf[:4])
		require.NoError(t, err)
		require.Equal(t, "pong", string(buf[:n]))
		_, err = st.Read(buf)
		require.Equal(t, io.EOF, err)
	}
	for range 100 {
		one() // warm the pools and tables
	}
	allocs := testing.AllocsPerRun(500, one)
	t.Logf("%.1f allocations per round trip through the bridge", allocs)
	bound := 13.0
	if raceDetector {
		bound += 8 // the exchange's pieces, when the pool dropped it
	}
	require.LessOrEqual(t, allocs, bound, "allocations per round trip grew")
}
