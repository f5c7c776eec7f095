package h2

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// scatterConn is a chunkConn that also scatters: a ReadScatter fills a, then
// b, from the current chunk, as readv does from a socket.
type scatterConn struct {
	chunkConn
	scattered int
}

func (c *scatterConn) ReadScatter(a, b []byte) (int, error) {
	c.scattered++
	n, err := c.Read(a)
	if n < len(a) || err != nil || len(c.chunks) == 0 {
		return n, err
	}
	m := copy(b, c.chunks[0])
	if c.chunks[0] = c.chunks[0][m:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n + m, nil
}

// largeFrames returns count frames of a large payload each (a 64 KiB
// message with its prefix and framing, as one stream sends them), with
// their bytes numbered so that a misplaced byte shows.
func largeFrames(count int) (wire []byte, payload int) {
	payload = readBufSize + 9
	for i := range count {
		wire = appendFrameHeader(wire, payload, FrameData, 0, 1)
		for j := range payload {
			wire = append(wire, byte(i+j*7))
		}
	}
	return wire, payload
}

// readLargeFrames reads frames the way readFrames does: the header through
// the buffer, the payload into a destination of its own.
func readLargeFrames(t *testing.T, b *connReader, count int) [][]byte {
	t.Helper()
	var got [][]byte
	for range count {
		h, err := b.Peek(frameHeaderLen)
		require.NoError(t, err)
		fh := parseFrameHeader(h)
		_, _ = b.Discard(frameHeaderLen)
		p := make([]byte, fh.Length)
		_, err = io.ReadFull(b, p)
		require.NoError(t, err)
		got = append(got, p)
	}
	return got
}

func requireFrames(t *testing.T, wire []byte, payload int, got [][]byte) {
	t.Helper()
	for i, p := range got {
		at := i*(frameHeaderLen+payload) + frameHeaderLen
		require.Equal(t, wire[at:at+payload], p, "frame %d", i)
	}
}

// TestConnReaderScattersLargePayloads: the connection has many large frames
// waiting (a reader behind its sender). Each payload's last read also brings
// the next frame's header and no more than scatterTail bytes into the buffer,
// so one read per frame suffices and at most scatterTail bytes of a payload
// are copied out of the buffer. Before, a read filled the 64 KiB buffer with
// the next frame's header and nearly all its payload, which was then copied.
func TestConnReaderScattersLargePayloads(t *testing.T) {
	const count = 8
	wire, payload := largeFrames(count)
	c := &scatterConn{chunkConn: chunkConn{chunks: [][]byte{wire}}}
	b := newConnReader(c)
	b.scatter = c

	got := readLargeFrames(t, b, count)
	requireFrames(t, wire, payload, got)
	require.LessOrEqual(t, b.copied, count*scatterTail, "bytes copied out of the read buffer")
	require.LessOrEqual(t, b.reads, count+1, "reads for %d frames", count)
	require.Positive(t, c.scattered)
	for _, n := range c.asked[1:] {
		// The tail of a scattered read, or a payload's rest: no read
		// offered the buffer's full 64 KiB.
		require.NotEqual(t, readBufSize, n)
	}
	_, err := b.Peek(1)
	require.ErrorIs(t, err, io.EOF)
}

// TestConnReaderScatterSmallFramesBetween: small frames between large ones
// (WINDOW_UPDATE, another stream's short message) arrive in the scattered
// tail or in a read of their own, in order, and the read after them is a
// normal one again.
func TestConnReaderScatterSmallFramesBetween(t *testing.T) {
	large, payload := largeFrames(2)
	small := appendFrameHeader(nil, 3*scatterTail, FrameData, 0, 3)
	small = append(small, make([]byte, 3*scatterTail)...)
	for i := range small[frameHeaderLen:] {
		small[frameHeaderLen+i] = byte(i * 3)
	}
	first := large[:frameHeaderLen+payload]
	c := &scatterConn{chunkConn: chunkConn{chunks: [][]byte{append(append(first[:len(first):len(first)], small...), large[len(first):]...)}}}
	b := newConnReader(c)
	b.scatter = c

	got := readLargeFrames(t, b, 1)
	requireFrames(t, large, payload, got)
	h, err := b.Peek(frameHeaderLen)
	require.NoError(t, err)
	require.Equal(t, uint32(3*scatterTail), parseFrameHeader(h).Length)
	_, _ = b.Discard(frameHeaderLen)
	p, err := b.Peek(3 * scatterTail)
	require.NoError(t, err)
	require.Equal(t, small[frameHeaderLen:], p)
	_, _ = b.Discard(len(p))
	got = readLargeFrames(t, b, 1)
	require.Equal(t, large[len(first)+frameHeaderLen:], got[0])
}

// TestConnReaderSplitHeaderAfterLargePayload: when the next frame's header
// comes in pieces after a large payload, every read until it is whole stays
// small: a read that brought part of a header is no sign of small frames,
// and a full-size read then would take the next payload into the buffer.
func TestConnReaderSplitHeaderAfterLargePayload(t *testing.T) {
	wire, payload := largeFrames(2)
	second := frameHeaderLen + payload
	c := &scatterConn{chunkConn: chunkConn{chunks: [][]byte{
		wire[:frameHeaderLen+100],           // the first header and a little payload
		wire[frameHeaderLen+100 : second+5], // the rest of that payload and 5 bytes of the next header
		wire[second+5 : second+7],           // 2 more header bytes
		wire[second+7:],                     // the header's end and the whole second payload
	}}}
	b := newConnReader(c)
	b.scatter = c
	b.borrow() // bytes have been flowing: reads use the 64 KiB buffer
	b.full = true

	got := readLargeFrames(t, b, 2)
	requireFrames(t, wire, payload, got)
	require.LessOrEqual(t, b.copied, 100+scatterTail, "bytes copied out of the read buffer")
	b.release()
}

// TestConnReaderScattersOverTCP: the same over a real socket (readv through
// the runtime's poller), the sender writing faster than the reader reads.
func TestConnReaderScattersOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	const count = 64
	wire, payload := largeFrames(count)
	sent := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			_, err = c.Write(wire)
			_ = c.Close()
		}
		sent <- err
	}()
	conn, err := l.Accept()
	require.NoError(t, err)
	defer conn.Close()
	b := newConnReader(conn)
	// Made by the first payload read, so that a connection that never
	// carries a large frame (most idle ones) does not hold it.
	require.Nil(t, b.scatter, "a scatter reader before any payload read")

	got := readLargeFrames(t, b, count)
	require.NoError(t, <-sent)
	require.NotNil(t, b.scatter, "a TCP connection scatters")
	requireFrames(t, wire, payload, got)
	require.LessOrEqual(t, b.copied, count*scatterTail, "bytes copied out of the read buffer")
	_, err = b.Peek(1)
	require.ErrorIs(t, err, io.EOF)
}
