package h2

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file holds what end-to-end and defense tests share: a goroutine-leak
// check, a loopback test server, a dialer, a round trip, and a well-behaved
// "bystander" client that must keep being served while an attack runs.

// goroutineLeakCheck records the goroutine count and, at cleanup, waits for
// it to settle back; it reports the stacks of the extra goroutines if not.
func goroutineLeakCheck(t testing.TB) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		if t.Failed() {
			return // a failed test may leave sessions behind; do not bury its message
		}
		deadline := time.Now().Add(waitLong)
		nap := time.Millisecond // short at first: most goroutines are just exiting
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(nap)
			nap = min(2*nap, 20*time.Millisecond)
		}
	})
}

// okHandler answers every request with 200 and echoes the request body.
var okHandler = HandlerFunc(func(st *Stream) {
	body, _ := io.ReadAll(st)
	_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
	_, _ = st.Write(body)
})

// newTestServer listens on loopback with srv and returns its address; the
// server is closed at cleanup.
func newTestServer(t testing.TB, srv *Server) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
	})
	return l.Addr().String()
}

// dialTest dials addr and closes the session at cleanup.
func dialTest(t testing.TB, addr string, opts *ClientOptions) *Session {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := Dial(ctx, addr, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Abort(ErrCodeNo, nil) })
	return s
}

// roundTrip sends a request with body and returns status, response body and error.
func roundTrip(ctx context.Context, s *Session, path string, body []byte) (string, []byte, error) {
	st, err := s.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: path}}, nil)
	if err != nil {
		return "", nil, err
	}
	errc := make(chan error, 1)
	go func() {
		_, err := st.Write(body)
		if err == nil {
			err = st.CloseWrite()
		}
		errc <- err
	}()
	h, err := st.Response(ctx)
	if err != nil {
		return "", nil, err
	}
	st.SetDeadline(time.Now().Add(waitLong))
	got, err := io.ReadAll(st)
	if err != nil {
		return "", nil, err
	}
	if err := <-errc; err != nil {
		return "", nil, err
	}
	return h.Get(":status"), got, nil
}

// bystander keeps a well-behaved client busy against addr while an attack
// runs; stop reports how many round trips succeeded and the first failure.
type bystander struct {
	stop func() (ok int, err error)
}

func startBystander(t testing.TB, addr string) bystander {
	s := dialTest(t, addr, nil)
	quit := make(chan struct{})
	first := make(chan struct{})
	type result struct {
		ok  int
		err error
	}
	res := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if r.ok == 0 {
				close(first)
			}
			res <- r
		}()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			status, body, err := roundTrip(ctx, s, "/bystander", []byte("ping"))
			cancel()
			if err == nil && (status != "200" || string(body) != "ping") {
				err = fmt.Errorf("bystander: status %s body %q", status, body)
			}
			if err != nil {
				r.err = err
				return
			}
			if r.ok++; r.ok == 1 {
				close(first)
			}
			select {
			case <-quit:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	<-first // the attack starts only once the bystander is being served
	return bystander{stop: func() (int, error) {
		close(quit)
		r := <-res
		return r.ok, r.err
	}}
}

// requireServed checks that the bystander made progress without errors and
// that a fresh client is still served.
func requireServed(t testing.TB, b bystander, addr string) {
	t.Helper()
	ok, err := b.stop()
	require.NoError(t, err, "the well-behaved client failed during the attack")
	require.Positive(t, ok, "the well-behaved client made no progress during the attack")
	s := dialTest(t, addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	status, body, err := roundTrip(ctx, s, "/after", []byte("after"))
	require.NoError(t, err)
	require.Equal(t, "200", status)
	require.Equal(t, "after", string(body))
}

// heapInUse returns the live heap after a collection, for bounded-memory checks.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
