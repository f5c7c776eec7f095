package h2

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// pushingMux pushes /style.css from / and reports Push's result.
func pushingMux(pushErr chan<- error, opts *http.PushOptions, target string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, "body{} "+r.Header.Get("X-Pushed-For"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, ok := w.(http.Pusher)
		if !ok {
			pushErr <- http.ErrNotSupported
			return
		}
		pushErr <- p.Push(target, opts)
		_, _ = io.WriteString(w, "<html>")
	})
	return mux
}

func TestBridgePushServesTheTargetWithTheSameHandler(t *testing.T) {
	for _, target := range []string{"/style.css", "http://example.com/style.css"} {
		t.Run(target, func(t *testing.T) {
			goroutineLeakCheck(t)
			pushErr := make(chan error, 1)
			opts := &http.PushOptions{Header: http.Header{"X-Pushed-For": {"index"}}}
			addr := newTestServer(t, &Server{HTTP: pushingMux(pushErr, opts, target)})
			got := make(chan *Stream, 1)
			copts := &ClientOptions{Authority: "example.com"}
			copts.Settings.EnablePush = true
			copts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) { got <- st }
			c := dialTest(t, addr, copts)

			st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
			require.NoError(t, err)
			require.NoError(t, <-pushErr)
			p := <-got
			require.Equal(t, "/style.css", p.PushPromise().Get(":path"))
			require.Equal(t, "index", p.PushPromise().Get("x-pushed-for"))
			h, err := p.Response(ctxT(t))
			require.NoError(t, err)
			require.Equal(t, "200", h.Get(":status"))
			require.Equal(t, "text/css", h.Get("content-type"))
			body, err := io.ReadAll(p)
			require.NoError(t, err)
			require.Equal(t, "body{} index", string(body))

			_, err = st.Response(ctxT(t))
			require.NoError(t, err)
			body, err = io.ReadAll(st)
			require.NoError(t, err)
			require.Equal(t, "<html>", string(body))
		})
	}
}

func TestBridgePushNotSupportedWhenTheClientDisabledIt(t *testing.T) {
	goroutineLeakCheck(t)
	pushErr := make(chan error, 1)
	base, client, _ := newHTTPBridge(t, pushingMux(pushErr, nil, "/style.css"))
	res, err := client.Get(base + "/") // net/http's client never enables push
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, "<html>", string(body))
	require.ErrorIs(t, <-pushErr, http.ErrNotSupported)
}

func TestBridgePushRefusesBadTargetsAndMethods(t *testing.T) {
	goroutineLeakCheck(t)
	for _, c := range []struct {
		target string
		opts   *http.PushOptions
		want   string
	}{
		{"http://elsewhere.example/x", nil, "a path or a URL of http://example.com"},
		{"style.css", nil, "a path or a URL"},
		{"/x", &http.PushOptions{Method: http.MethodPost}, "only GET and HEAD"},
	} {
		pushErr := make(chan error, 1)
		addr := newTestServer(t, &Server{HTTP: pushingMux(pushErr, c.opts, c.target)})
		copts := &ClientOptions{Authority: "example.com"}
		copts.Settings.EnablePush = true
		copts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) { st.Reset(ErrCodeCancel) }
		cl := dialTest(t, addr, copts)
		st, err := cl.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		require.ErrorContains(t, <-pushErr, c.want, c.target)
		_, err = io.ReadAll(st)
		require.NoError(t, err)
	}
}
