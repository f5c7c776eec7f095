package h2

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deadlineConn records the write deadlines set on it, and the time left
// before the deadline at each write.
type deadlineConn struct {
	net.Conn
	mu        sync.Mutex
	deadline  time.Time
	moves     int
	minLeft   time.Duration
	writes    int
	zeroWrite bool // a write went out with no deadline set
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline, c.moves = t, c.moves+1
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.deadline.IsZero() {
		c.zeroWrite = true
	} else if left := time.Until(c.deadline); c.writes == 0 || left < c.minLeft {
		c.minLeft = left
	}
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// A session that keeps writing for several WriteTimeouts has its write
// deadline moved as it goes, with no clock read per write: every write goes
// out under a deadline, the writes keep succeeding past the first deadline,
// and the deadline moved again and again. The timer that ages the deadline
// fires after a quarter of the timeout, leaving three quarters; the margin
// asserted is one quarter, for a timer that fires late under -race on a
// loaded machine.
func TestWriteDeadlineMovesWithoutClockPerWrite(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = io.Copy(st, st)
	})}
	c1, c2 := net.Pipe()
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.ServeConn(c2)
	}()
	dc := &deadlineConn{Conn: c1}
	c, err := NewClientSession(dc, &ClientOptions{Options: Options{WriteTimeout: timeout}})
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Abort(ErrCodeNo, nil)
		<-served
	})
	ctx := ctxT(t)
	st, err := c.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	buf := make([]byte, 4)
	end := time.Now().Add(4 * timeout)
	for time.Now().Before(end) {
		_, err := st.Write([]byte("ping"))
		require.NoError(t, err)
		_, err = io.ReadFull(st, buf)
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
	}
	dc.mu.Lock()
	defer dc.mu.Unlock()
	require.False(t, dc.zeroWrite, "a write went out without a deadline")
	require.GreaterOrEqual(t, dc.moves, 4, "the deadline was not moved as the session kept writing")
	require.Greater(t, dc.minLeft, timeout/4, "a write had less than a quarter of the timeout left")
}
