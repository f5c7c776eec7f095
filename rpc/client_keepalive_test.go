package rpc

import (
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
)

// TestClientKeepalivePingsOneTimeAfterLastFrame: the client's keepalive ping
// goes out one Time after the last frame from the server arrived. The
// server's last frame (a ping ack) comes a fifth of Time after the
// connection opened, so a ticker that pings only after a whole quiet tick
// period would wait for its second tick, nearly 2*Time after that frame, and
// a dead server would take up to 2*Time+Timeout to notice.
func TestClientKeepalivePingsOneTimeAfterLastFrame(t *testing.T) {
	checkNoLeaks(t)
	// Two seconds, so that the bound below leaves one for the ping's way
	// through three goroutines (the keepalive timer, the writer, the
	// server's reader), which a loaded machine under the race detector can
	// hold up for a few hundred milliseconds (h2's twin, with half a second,
	// once missed by 268 ms at load 30).
	const kaTime = 2 * time.Second
	pings := make(chan time.Time, 16)
	srv := &h2.Server{
		Handler: h2.HandlerFunc(func(st *h2.Stream) { st.Reset(h2.ErrCodeRefusedStream) }),
		Options: h2.Options{Hooks: h2.Hooks{OnPing: func(_ *h2.Session, payload [8]byte) {
			if payload == [8]byte{'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v'} {
				pings <- time.Now()
			}
		}}},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	defer func() {
		_ = srv.Close()
		<-served
	}()
	cc, err := NewClient(l.Addr().String(), WithInsecure(), WithKeepaliveParams(ClientParameters{Time: kaTime, Timeout: 10 * time.Second, PermitWithoutStream: true}))
	require.NoError(t, err)
	defer cc.Close()
	cc.Connect()
	var sess *h2.Session
	require.Eventually(t, func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if len(cc.subs) == 0 {
			return false // not resolved yet
		}
		sess = cc.subs[0].sess
		return sess != nil
	}, 5*time.Second, time.Millisecond)
	time.Sleep(kaTime / 5)
	_, err = sess.Ping(ctxTimeout(t, 5*time.Second), [8]byte{'t', 'e', 's', 't'})
	require.NoError(t, err)
	last := sess.Stats().LastReceived
	// A keepalive ping the server got before that last frame answers an
	// earlier quiet stretch (the connection's first frames, when the machine
	// was slow enough for a whole Time to pass before the test's ping): the
	// ping under test is the first after it.
	var sent time.Time
	for sent.IsZero() || sent.Before(last) {
		select {
		case sent = <-pings:
		case <-time.After(10 * time.Second):
			t.Fatal("no keepalive ping")
		}
	}
	quiet := sent.Sub(last)
	require.GreaterOrEqual(t, quiet, kaTime*9/10, "pinged while the server had spoken within Time")
	// The bound sits halfway between the two designs: a semantic margin,
	// not a speed requirement.
	require.Less(t, quiet, kaTime*3/2, "the ping waited for a second quiet tick")
}
