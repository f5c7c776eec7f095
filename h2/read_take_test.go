package h2

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// bufferedIn returns the stream's unread buffered bytes and where its
// buffer starts.
func bufferedIn(st *Stream) (unread int, start *byte) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return len(st.in) - st.inOff, unsafe.SliceData(st.in[:cap(st.in)])
}

func waitBuffered(t *testing.T, st *Stream, n int) {
	eventually(t, "the bytes are buffered", func() bool { got, _ := bufferedIn(st); return got == n })
}

func adoptedFrames(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adoptedFrames
}

func streamUnacked(st *Stream) int64 {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.recvFlow.unacked
}

// A large frame nobody waits for is read into a stream buffer that the
// stream keeps, and TakeFramed hands that very buffer over: the unit is never
// copied in user space. The taken bytes count as read for flow control.
func TestTakeFramedHandsOverTheBufferTheFrameWasReadInto(t *testing.T) {
	p, st := inPlacePeer(t)
	body := unit4(pattern(200 << 10))
	p.mustWrite(appendData(nil, 1, false, body))
	waitBuffered(t, st, len(body))
	_, start := bufferedIn(st)
	require.Equal(t, 1, adoptedFrames(p.sess))

	b, err := st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(body, b.Bytes()), "the unit arrived changed")
	require.Same(t, start, unsafe.SliceData(b.Bytes()), "the unit was copied")
	left, _ := bufferedIn(st)
	require.Zero(t, left)
	require.Equal(t, int64(len(body)), streamUnacked(st))
	b.Release()
	require.True(t, b.Bytes() == nil, "a released buffer still shows bytes")
}

// Until the whole unit is buffered nothing is taken, and nothing consumed:
// the read that follows gets the unit whole. A unit that ends the body comes
// with io.EOF.
func TestTakeFramedTakesNothingUntilTheUnitIsWhole(t *testing.T) {
	p, st := inPlacePeer(t)
	body := unit4(pattern(10 << 10))
	p.mustWrite(appendData(nil, 1, false, body[:6<<10]))
	waitBuffered(t, st, 6<<10)
	b, err := st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, b.Bytes() == nil, "took part of a unit")
	require.Zero(t, streamUnacked(st))

	p.mustWrite(appendData(nil, 1, true, body[6<<10:]))
	waitBuffered(t, st, len(body))
	b, err = st.TakeFramed(need4)
	require.ErrorIs(t, err, io.EOF)
	require.True(t, bytes.Equal(body, b.Bytes()), "the unit arrived changed")
	b.Release()
}

// Bytes past the unit stay the stream's (in a buffer of their own) for the
// next read; when more follows the unit than the unit itself, TakeFramed
// leaves it all to ReadFramed, which copies only the unit.
func TestTakeFramedKeepsWhatFollowsTheUnit(t *testing.T) {
	p, st := inPlacePeer(t)
	first, second, third := unit4(pattern(100<<10)), unit4(pattern(30<<10)), unit4(pattern(10<<10))
	var all []byte
	all = append(append(append(all, first...), second...), third...)
	p.mustWrite(appendData(nil, 1, true, all))
	waitBuffered(t, st, len(all))

	b, err := st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(first, b.Bytes()), "the unit arrived changed")
	b.Release()

	// 30 KiB of unit, 10 KiB after it: taken, and the rest kept.
	b, err = st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(second, b.Bytes()), "the unit arrived changed")
	b.Release()

	buf := make([]byte, len(third))
	n, err := st.ReadFramed(buf, need4)
	require.ErrorIs(t, err, io.EOF)
	require.True(t, bytes.Equal(third, buf[:n]), "the unit arrived changed")
}

func TestTakeFramedLeavesAUnitWithMoreBehindItToRead(t *testing.T) {
	p, st := inPlacePeer(t)
	first, second := unit4(pattern(10<<10)), unit4(pattern(30<<10))
	all := append(append([]byte(nil), first...), second...)
	p.mustWrite(appendData(nil, 1, false, all))
	waitBuffered(t, st, len(all))

	b, err := st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, b.Bytes() == nil, "took a unit followed by more than itself")
	buf := make([]byte, len(first))
	n, err := st.ReadFramed(buf, need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(first, buf[:n]), "the unit arrived changed")
	b, err = st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(second, b.Bytes()), "the unit arrived changed")
	b.Release()
}

// Take hands over the rest of a unit whose prefix was read already.
func TestTakeHandsOverTheRestOfAUnitAfterItsPrefix(t *testing.T) {
	p, st := inPlacePeer(t)
	body := unit4(pattern(80 << 10))
	p.mustWrite(appendData(nil, 1, false, body))
	waitBuffered(t, st, len(body))

	var prefix [4]byte
	n, err := st.ReadFramed(prefix[:], nil)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	b, err := st.Take(len(body) - 3)
	require.NoError(t, err)
	require.True(t, b.Bytes() == nil, "took more than is buffered")
	b, err = st.Take(len(body) - 4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(body[4:], b.Bytes()), "the unit arrived changed")
	b.Release()
}

// While a Read waits on the stream, TakeFramed stays out of its way.
func TestTakeFramedTakesNothingWhileAReadWaits(t *testing.T) {
	p, st := inPlacePeer(t)
	done := readInPlace(t, st, make([]byte, 64))
	b, err := st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, b.Bytes() == nil, "took while a read waits")
	unit := unit4(pattern(20))
	p.mustWrite(appendData(nil, 1, true, unit))
	r := <-done
	requireNilOrEOF(t, r.err)
	require.Equal(t, len(unit), r.n)
}

func connUnacked(s *Session) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recvFlow.unacked
}

// Large frames that arrive while the reader lags queue up in their own
// buffers instead of being copied onto the end of the stream's: each one
// that holds a unit is handed over as it came, and a unit that runs from
// one into the next reads whole.
func TestLargeFramesBehindUnreadBytesQueueInTheirOwnBuffers(t *testing.T) {
	p, st := inPlacePeer(t)
	a, b := unit4(pattern(100<<10)), unit4(pattern(120<<10))
	c := unit4(pattern(150 << 10))
	p.mustWrite(appendData(nil, 1, false, a))
	waitBuffered(t, st, len(a))
	p.mustWrite(appendData(nil, 1, false, b))
	p.mustWrite(appendData(nil, 1, false, c[:70<<10]))
	p.mustWrite(appendData(nil, 1, true, c[70<<10:]))
	eventually(t, "all frames are in", func() bool { return adoptedFrames(p.sess) == 4 })

	st.s.mu.Lock()
	queued := unsafe.SliceData(st.watch.inQ[0])
	st.s.mu.Unlock()
	tb, err := st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(a, tb.Bytes()), "the unit arrived changed")
	tb.Release()
	tb, err = st.TakeFramed(need4)
	require.NoError(t, err)
	require.True(t, bytes.Equal(b, tb.Bytes()), "the unit arrived changed")
	require.Same(t, queued, unsafe.SliceData(tb.Bytes()), "the queued frame was copied")
	tb.Release()

	buf := make([]byte, len(c))
	n, err := st.ReadFramed(buf, need4)
	require.ErrorIs(t, err, io.EOF)
	require.True(t, bytes.Equal(c, buf[:n]), "a unit across two frames arrived changed")
}

// A stream that fails with frames queued gives all their bytes back to the
// connection's window.
func TestQueuedFramesAreCreditedWhenTheStreamFails(t *testing.T) {
	p, st := inPlacePeer(t)
	a, b := unit4(pattern(100<<10)), unit4(pattern(120<<10))
	p.mustWrite(appendData(nil, 1, false, a))
	waitBuffered(t, st, len(a))
	p.mustWrite(appendData(nil, 1, false, b))
	eventually(t, "the second frame is queued", func() bool {
		st.s.mu.Lock()
		defer st.s.mu.Unlock()
		return st.watch != nil && len(st.watch.inQ) == 1
	})
	before := connUnacked(p.sess)
	st.Reset(ErrCodeCancel)
	require.Equal(t, before+int64(len(a)+len(b)), connUnacked(p.sess))
}

// Units of random sizes in frames of random sizes (some larger than the read
// buffer, so read into buffers of their own), read with a random mix of
// TakeFramed, Take after the prefix, ReadFramed and ReadFramedInPlace while
// the reader now waits and now lags: every unit arrives whole and in order,
// however the stream held it (adopted, queued, chained or copied).
func TestBufferedUnitsReadWholeInAnyMixOfReads(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewSource(seed))
		p, st := inPlacePeer(t)
		var units [][]byte
		var wire []byte
		for total := 0; total < 2<<20; {
			n := rng.Intn(8 << 10)
			if rng.Intn(3) == 0 {
				n = rng.Intn(300 << 10)
			}
			u := unit4(pattern(n))
			units = append(units, u)
			wire = append(wire, u...)
			total += len(u)
		}
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			for off := 0; off < len(wire); {
				n := min(len(wire)-off, 1+rng.Intn(200<<10))
				if err := p.write(appendData(nil, 1, off+n == len(wire), wire[off:off+n])); err != nil {
					return
				}
				off += n
			}
		}()
		rr := rand.New(rand.NewSource(seed + 100))
		for i, want := range units {
			if rr.Intn(4) == 0 {
				time.Sleep(time.Duration(rr.Intn(200)) * time.Microsecond) // fall behind for a moment
			}
			got := readUnitSomehow(t, st, rr, len(want))
			require.True(t, bytes.Equal(want, got), "seed %d: unit %d of %d bytes arrived changed", seed, i, len(want))
		}
		var probe [1]byte
		n, err := st.ReadFramed(probe[:], nil)
		require.Zero(t, n)
		require.ErrorIs(t, err, io.EOF)
		<-sent
	}
}

// readUnitSomehow reads the next unit, of size bytes, in one of the ways a
// caller may, and returns a copy of it.
func readUnitSomehow(t *testing.T, st *Stream, rr *rand.Rand, size int) []byte {
	switch rr.Intn(4) {
	case 0:
		b, err := st.TakeFramed(need4)
		if u := b.Bytes(); u != nil {
			requireNilOrEOF(t, err)
			defer b.Release()
			return bytes.Clone(u)
		}
	case 1:
		var prefix [4]byte
		n, err := st.ReadFramed(prefix[:], nil)
		requireNilOrEOF(t, err)
		require.Equal(t, 4, n)
		rest := make([]byte, 0, size)
		rest = append(rest, prefix[:]...)
		if b, err := st.Take(size - 4); b.Bytes() != nil {
			requireNilOrEOF(t, err)
			rest = append(rest, b.Bytes()...)
			b.Release()
			return rest
		}
		return readRest(t, st, rest, size)
	case 2:
		buf := make([]byte, size)
		n, err := st.ReadFramedInPlace(buf, need4)
		requireNilOrEOF(t, err)
		return buf[:n]
	}
	// A buffer that may be too small: the rest is read after it.
	buf := make([]byte, 1+rr.Intn(size))
	n, err := st.ReadFramed(buf, need4)
	requireNilOrEOF(t, err)
	return readRest(t, st, buf[:n], size)
}

func readRest(t *testing.T, st *Stream, got []byte, size int) []byte {
	for len(got) < size {
		buf := make([]byte, size-len(got))
		n, err := st.ReadFramed(buf, nil)
		requireNilOrEOF(t, err)
		require.Positive(t, n)
		got = append(got, buf[:n]...)
	}
	return got
}
