package h2

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// need4 is a framing rule for tests with large units: a 4-byte big-endian
// length, then that many bytes.
func need4(got []byte) int {
	if len(got) < 4 {
		return 4
	}
	return 4 + int(binary.BigEndian.Uint32(got))
}

func unit4(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// inPlacePeer is a raw server peer for a client session that accepts 1 MiB
// frames, with stream 1 answered and ready for a body.
func inPlacePeer(t *testing.T) (*peer, *Stream) {
	p := newClientPeer(t, &ClientOptions{Options: Options{Settings: Settings{MaxFrameSize: 1 << 20}}})
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	p.mustWrite(appendHeaders(nil, 1, false, true, nil, p.encode(":status", "200")))
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	return p, st
}

type readResult struct {
	n   int
	err error
}

// readInPlace starts a ReadFramedInPlace into buf and returns once the
// session's reader can see the lent buffer.
func readInPlace(t *testing.T, st *Stream, buf []byte) <-chan readResult {
	done := make(chan readResult, 1)
	go func() {
		n, err := st.ReadFramedInPlace(buf, need4)
		done <- readResult{n, err}
	}()
	eventually(t, "the read lends its buffer", func() bool {
		st.s.mu.Lock()
		defer st.s.mu.Unlock()
		return st.rdInPlace
	})
	return done
}

func inPlaceFrames(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inPlaceFrames
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// A DATA frame larger than the read buffer lands in the waiting read's
// buffer straight from the connection; the unit is whole and correct.
func TestReadFramedInPlaceReadsALargeFrameIntoTheCallersBuffer(t *testing.T) {
	p, st := inPlacePeer(t)
	body := unit4(pattern(200 << 10))
	buf := make([]byte, len(body)+100)
	done := readInPlace(t, st, buf)
	p.mustWrite(appendData(nil, 1, true, body))
	r := <-done
	requireNilOrEOF(t, r.err)
	require.Equal(t, body, buf[:r.n])
	require.Equal(t, 1, inPlaceFrames(p.sess))
}

// A frame that carries more than the unit, or a unit larger than the buffer,
// goes the normal way, and the bytes past the unit wait for the next read.
func TestReadFramedInPlaceLeavesWhatIsNotTheUnits(t *testing.T) {
	p, st := inPlacePeer(t)
	first, second := unit4(pattern(100<<10)), unit4(pattern(90<<10))
	buf := make([]byte, 300<<10)
	done := readInPlace(t, st, buf)
	p.mustWrite(appendData(nil, 1, true, append(append([]byte(nil), first...), second...)))
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, first, buf[:r.n])
	n, err := st.ReadFramedInPlace(buf, need4)
	requireNilOrEOF(t, err)
	require.Equal(t, second, buf[:n])
	require.Zero(t, inPlaceFrames(p.sess))
}

// midInPlaceFrame has a ReadFramedInPlace waiting for a 200 KiB unit and
// the reader filling its buffer, with the frame's first 20 KiB sent: rest is
// what the peer still has to send.
func midInPlaceFrame(t *testing.T) (p *peer, st *Stream, body, rest []byte, done <-chan readResult) {
	p, st = inPlacePeer(t)
	body = unit4(pattern(200 << 10))
	frame := appendData(nil, 1, true, body)
	done = readInPlace(t, st, make([]byte, len(body)))
	p.mustWrite(frame[:20<<10])
	eventually(t, "the reader reads in place", func() bool { return inPlaceFrames(p.sess) == 1 })
	return p, st, body, frame[20<<10:], done
}

// A read that gives up while the reader is filling its buffer returns at once
// (the caller lets the buffer go); the frame still arrives and the session
// carries on.
func TestReadFramedInPlaceReturnsAtOnceOnReset(t *testing.T) {
	p, st, _, rest, done := midInPlaceFrame(t)

	st.Reset(ErrCodeCancel)
	select {
	case r := <-done:
		var se *StreamError
		require.ErrorAs(t, r.err, &se)
		require.Equal(t, ErrCodeCancel, se.Code)
	case <-time.After(waitLong):
		t.Fatal("the read waited for the rest of the frame")
	}
	p.expectRST(1, ErrCodeCancel)
	p.mustWrite(rest)

	st2, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(3)
	p.mustWrite(appendHeaders(nil, 3, true, true, nil, p.encode(":status", "204")))
	h, err := st2.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "204", h.Get(":status"))
}

// A read whose deadline passes while the reader fills its buffer returns;
// the frame's bytes are kept for the next read, nothing is lost.
func TestReadFramedInPlaceKeepsTheFrameAfterADeadline(t *testing.T) {
	p, st, body, rest, done := midInPlaceFrame(t)

	st.SetDeadline(time.Now())
	r := <-done
	require.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
	p.mustWrite(rest)
	st.SetDeadline(time.Time{})
	buf := make([]byte, len(body))
	n, err := st.ReadFramed(buf, need4)
	requireNilOrEOF(t, err)
	require.True(t, bytes.Equal(body, buf[:n]), "the unit arrived changed")
}
