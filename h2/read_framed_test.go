package h2

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// needByte is a framing rule for tests: one length byte, then that many bytes.
func needByte(got []byte) int {
	if len(got) == 0 {
		return 1
	}
	return 1 + int(got[0])
}

func unit(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// respondWith serves a request by writing body in the given pieces (each
// piece one Write, so one or more DATA frames) with pauses between them.
func respondWith(pause time.Duration, pieces ...[]byte) Handler {
	return HandlerFunc(func(st *Stream) {
		for _, p := range pieces {
			if _, err := st.Write(p); err != nil {
				return
			}
			time.Sleep(pause)
		}
	})
}

// requireNilOrEOF accepts what ReadFramed returns with a body's last unit:
// io.EOF if END_STREAM had arrived by then, nil if not.
func requireNilOrEOF(t *testing.T, err error) {
	t.Helper()
	if err != io.EOF {
		require.NoError(t, err)
	}
}

// TestReadFramedLastUnitComesWithEOF: when END_STREAM arrives with the last
// unit, ReadFramed returns io.EOF along with it, so the caller needs no
// second read to learn that the body ended; a unit followed by more data
// comes with nil.
func TestReadFramedLastUnitComesWithEOF(t *testing.T) {
	body := bytes.Join([][]byte{unit("first"), unit("last")}, nil)
	transports(t, func() *Server {
		return &Server{Handler: HandlerFunc(func(st *Stream) { _, _ = st.End(body, nil) })}
	}, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := st.ReadFramed(buf, needByte)
		require.NoError(t, err)
		require.Equal(t, unit("first"), buf[:n])
		n, err = st.ReadFramed(buf, needByte)
		require.Equal(t, io.EOF, err, "END_STREAM rode on the DATA frame")
		require.Equal(t, unit("last"), buf[:n])
	})
}

func TestReadFramedStopsAtTheUnitEnd(t *testing.T) {
	// Three units in one DATA frame: each read returns exactly one.
	body := bytes.Join([][]byte{unit("one"), unit("three"), unit("")}, nil)
	transports(t, func() *Server { return &Server{Handler: respondWith(0, body)} }, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		_, err = st.Response(ctxT(t))
		require.NoError(t, err)
		buf := make([]byte, 64)
		for i, want := range []string{"one", "three", ""} {
			n, err := st.ReadFramed(buf, needByte)
			if i < 2 {
				require.NoError(t, err)
			} else {
				requireNilOrEOF(t, err) // EOF when END_STREAM was in already
			}
			require.Equal(t, unit(want), buf[:n])
		}
		n, err := st.ReadFramed(buf, needByte)
		require.Equal(t, 0, n)
		require.Equal(t, io.EOF, err)
	})
}

func TestReadFramedWaitsForTheWholeUnit(t *testing.T) {
	// A unit split over writes with pauses between: one read still gets all
	// of it, and the unit that follows stays for the next read.
	u := unit("split across several frames")
	srv := func() *Server {
		return &Server{Handler: respondWith(5*time.Millisecond, u[:1], u[1:4], u[4:], unit("next"))}
	}
	transports(t, srv, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		buf := make([]byte, 256)
		n, err := st.ReadFramed(buf, needByte)
		require.NoError(t, err)
		require.Equal(t, u, buf[:n])
		n, err = st.ReadFramed(buf, needByte)
		require.NoError(t, err)
		require.Equal(t, unit("next"), buf[:n])
	})
}

func TestReadFramedFullBufferAndCutShort(t *testing.T) {
	u := unit("0123456789")
	transports(t, func() *Server { return &Server{Handler: respondWith(0, u, u[:4])} }, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		// The unit is larger than the buffer: the read fills it and returns.
		small := make([]byte, 4)
		n, err := st.ReadFramed(small, needByte)
		require.NoError(t, err)
		require.Equal(t, u[:4], small[:n])
		// The rest, with a nil rule: fill the buffer.
		rest := make([]byte, len(u)-4)
		n, err = st.ReadFramed(rest, nil)
		require.NoError(t, err)
		require.Equal(t, u[4:], rest[:n])
		// The body ends in the middle of the next unit.
		buf := make([]byte, 64)
		n, err = st.ReadFramed(buf, needByte)
		require.Equal(t, io.EOF, err)
		require.Equal(t, u[:4], buf[:n])
	})
}

func TestReadFramedTellsNeedTheRoomLeft(t *testing.T) {
	// need sees cap(got) == len(p): a rule can stop at the prefix of a unit
	// that will not fit, and the unit stays buffered for a larger buffer.
	big := unit("does not fit in eight bytes")
	transports(t, func() *Server { return &Server{Handler: respondWith(0, big)} }, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		prefixOnlyIfTooBig := func(got []byte) int {
			if n := needByte(got); n <= cap(got) {
				return n
			}
			return 1
		}
		small := make([]byte, 8, 64) // spare capacity beyond len must not count
		n, err := st.ReadFramed(small, prefixOnlyIfTooBig)
		require.NoError(t, err)
		require.Equal(t, big[:1], small[:n])
		rest := make([]byte, len(big)-1)
		n, err = st.ReadFramed(rest, nil)
		requireNilOrEOF(t, err)
		require.Equal(t, big[1:], rest[:n])
	})
}

func TestReadFramedLargerThanTheWindow(t *testing.T) {
	// A unit bigger than the stream window completes only if the bytes that
	// land in the buffer are credited while the read still waits.
	size := 2*int(DefaultSettings().InitialWindowSize) + 12345
	body := bytes.Repeat([]byte{'w'}, size)
	transports(t, func() *Server { return &Server{Handler: respondWith(0, body)} }, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		st.SetDeadline(time.Now().Add(waitLong))
		buf := make([]byte, size)
		n, err := st.ReadFramed(buf, func([]byte) int { return size })
		requireNilOrEOF(t, err)
		require.Equal(t, size, n)
		require.True(t, bytes.Equal(body, buf))
	})
}

func TestReadFramedDeadline(t *testing.T) {
	u := unit("never finished")
	stall := HandlerFunc(func(st *Stream) {
		_, _ = st.Write(u[:3])
		<-st.Context().Done()
	})
	transports(t, func() *Server { return &Server{Handler: stall} }, func(t *testing.T, c *Session) {
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		st.SetDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 64)
		n, err := st.ReadFramed(buf, needByte)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.Equal(t, u[:3], buf[:n], "what arrived is returned with the error")
		st.Reset(ErrCodeCancel)
	})
}
