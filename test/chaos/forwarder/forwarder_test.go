package forwarder

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer echoes every connection until it half-closes, then closes.
func echoServer(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l
}

// start runs a forwarder to target with cfg and closes it at cleanup.
func start(t *testing.T, target string, cfg Config) *Forwarder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := New(l, target, cfg)
	served := make(chan error, 1)
	go func() { served <- f.Serve() }()
	t.Cleanup(func() {
		require.NoError(t, f.Close())
		require.NoError(t, <-served)
	})
	return f
}

func TestScheduleKeepsOrderAndAppliesImpairments(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		name     string
		cfg      Config
		last     time.Time
		min, max time.Duration // bounds of the result relative to now
	}{
		{"plain delay", Config{Delay: 50 * time.Millisecond}, time.Time{}, 50 * time.Millisecond, 50 * time.Millisecond},
		{"jitter within bounds", Config{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}, time.Time{}, 40 * time.Millisecond, 60 * time.Millisecond},
		{"a lost chunk waits a retransmission timeout", Config{Delay: 10 * time.Millisecond, Loss: 1}, time.Time{}, 210 * time.Millisecond, 210 * time.Millisecond},
		{"a reordered chunk waits one more jitter", Config{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Reorder: 1}, time.Time{}, 50 * time.Millisecond, 70 * time.Millisecond},
		{"never before the previous chunk", Config{Delay: time.Millisecond}, now.Add(time.Second), time.Second, time.Second},
		{"negative delay clamps to now", Config{Delay: 0, Jitter: 0}, time.Time{}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := New(nil, "", tc.cfg)
			for range 200 {
				d := f.schedule(now, tc.last).Sub(now)
				require.GreaterOrEqual(t, d, tc.min)
				require.LessOrEqual(t, d, tc.max)
			}
		})
	}
}

func TestScheduleCountsLossAndReorderAtTheirRates(t *testing.T) {
	f := New(nil, "", Config{Loss: 0.01, Reorder: 0.25, Seed: 7})
	const n = 100000
	for range n {
		f.schedule(time.Time{}, time.Time{})
	}
	s := f.Stats()
	require.InDelta(t, 0.01*n, float64(s.Lost), 0.002*n)
	require.InDelta(t, 0.25*n, float64(s.Reordered), 0.01*n)
}

func TestForwardsBytesIntactAndInOrder(t *testing.T) {
	echo := echoServer(t)
	f := start(t, echo.Addr().String(), Config{
		Delay: 2 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.05, LossPenalty: 5 * time.Millisecond, Reorder: 0.25,
	})
	c, err := net.Dial("tcp", f.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	want := make([]byte, 1<<20)
	_, _ = rand.Read(want)
	go func() {
		_, _ = c.Write(want)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "the echoed stream differs from what was sent")
	s := f.Stats()
	require.EqualValues(t, 1, s.Conns)
	require.EqualValues(t, 2<<20, s.Bytes) // both directions
	require.Positive(t, s.Lost)
	require.Positive(t, s.Reordered)
}

func TestDelayIsApplied(t *testing.T) {
	echo := echoServer(t)
	f := start(t, echo.Addr().String(), Config{Delay: 30 * time.Millisecond})
	c, err := net.Dial("tcp", f.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	begin := time.Now()
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(begin), 60*time.Millisecond, "one delay each way")
}

func TestBlackholeStallsUntilLifted(t *testing.T) {
	echo := echoServer(t)
	f := start(t, echo.Addr().String(), Config{})
	c, err := net.Dial("tcp", f.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 1)
	_, err = c.Write([]byte("a"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)

	f.SetBlackhole(true)
	_, err = c.Write([]byte("b"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = c.Read(buf)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "nothing may cross a blackhole: %v", err)

	// A connection opened meanwhile stalls too, and both resume.
	c2, err := net.Dial("tcp", f.Addr().String())
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.Write([]byte("c"))
	require.NoError(t, err)

	f.SetBlackhole(false)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "b", string(buf))
	require.NoError(t, c2.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(c2, buf)
	require.NoError(t, err)
	require.Equal(t, "c", string(buf))
}

func TestServerCloseReachesClient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = c.Write([]byte("bye"))
			c.Close()
		}
	}()
	f := start(t, l.Addr().String(), Config{})
	c, err := net.Dial("tcp", f.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "bye", string(got))
}

func TestCloseEndsStalledConnections(t *testing.T) {
	echo := echoServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := New(l, echo.Addr().String(), Config{})
	served := make(chan error, 1)
	go func() { served <- f.Serve() }()
	c, err := net.Dial("tcp", f.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	f.SetBlackhole(true)
	_, err = c.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, <-served)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) {
		require.False(t, ne.Timeout(), "the client sees the connection end (FIN or RST), not a timeout")
	}
}
