package h2

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// chunkConn hands out its chunks one Read at a time (a Read gets at most
// one chunk, as from a socket) and records how much room each Read offered.
type chunkConn struct {
	chunks [][]byte
	asked  []int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// TestConnReaderBorrowsOnlyWhileBytesFlow: small batches are read into the
// small buffer and borrow nothing; a flow larger than it borrows the large
// buffer, reads stay large while they fill it, and the buffer goes back once
// a read leaves room (the connection had nothing more) and its bytes are used.
func TestConnReaderBorrowsOnlyWhileBytesFlow(t *testing.T) {
	flow := make([]byte, 4*readBufSize)
	for i := range flow {
		flow[i] = byte(i)
	}
	c := &chunkConn{chunks: [][]byte{
		[]byte("small batch"),
		flow, // arrives faster than it is read: every read is filled
		[]byte("tail"),
		[]byte("quiet again"),
	}}
	b := newConnReader(c)

	p, err := b.Peek(len("small batch"))
	require.NoError(t, err)
	require.Equal(t, "small batch", string(p))
	_, _ = b.Discard(len(p))
	require.Nil(t, b.big, "a small batch borrowed the large buffer")

	got := make([]byte, 0, len(flow))
	for len(got) < len(flow) {
		p, err := b.Peek(min(16<<10, len(flow)-len(got)))
		require.NoError(t, err)
		got = append(got, p...)
		_, _ = b.Discard(len(p))
		if len(got) > smallReadSize {
			require.NotNil(t, b.big, "bytes flow: the large buffer is borrowed")
		}
	}
	require.Equal(t, flow, got)
	// The first read offered the small buffer, the next (the flow overflowing
	// it) the large one: from then on every read offered a large buffer.
	for i, n := range c.asked[2:] {
		require.GreaterOrEqual(t, n, readBufSize-16<<10, "read %d offered %d bytes", i+2, n)
	}

	p, err = b.Peek(len("tail"))
	require.NoError(t, err)
	require.Equal(t, "tail", string(p))
	_, _ = b.Discard(len(p))
	p, err = b.Peek(len("quiet again"))
	require.NoError(t, err)
	require.Equal(t, "quiet again", string(p))
	require.Nil(t, b.big, "the connection went quiet: the large buffer went back")
	require.Equal(t, smallReadSize, c.asked[len(c.asked)-1], "the wait after a quiet read happens in the small buffer")
}

// TestConnReaderLargeFrameComesWhole: a frame larger than the small buffer
// that starts in it is completed in the large buffer, bytes in order.
func TestConnReaderLargeFrameComesWhole(t *testing.T) {
	frame := make([]byte, 3*smallReadSize)
	for i := range frame {
		frame[i] = byte(i * 7)
	}
	c := &chunkConn{chunks: [][]byte{frame[:100], frame[100:2000], frame[2000:]}}
	b := newConnReader(c)
	p, err := b.Peek(10)
	require.NoError(t, err)
	require.Equal(t, frame[:10], p)
	_, _ = b.Discard(10)
	p, err = b.Peek(len(frame) - 10)
	require.NoError(t, err)
	require.Equal(t, frame[10:], p)
	_, _ = b.Discard(len(p))
	_, err = b.Peek(1)
	require.ErrorIs(t, err, io.EOF)
	b.release()
}

// TestConnReaderGrowsForOneKiBMessages: the DATA frame of a 1 KiB message
// (frame header, gRPC's 5-byte prefix, 1 KiB and a few bytes of protobuf
// framing) does not fit the first small buffer; the buffer grows to hold it
// instead of borrowing the large one, so that the next such frame is read
// whole by one read (a second read per message was a system call per
// message). A frame beyond maxSmallReadSize still borrows the large buffer.
func TestConnReaderGrowsForOneKiBMessages(t *testing.T) {
	frame := make([]byte, frameHeaderLen+5+1024+3)
	for i := range frame {
		frame[i] = byte(i)
	}
	large := make([]byte, 2*maxSmallReadSize)
	c := &chunkConn{chunks: [][]byte{frame, frame, large}}
	b := newConnReader(c)
	readFrame := func(want []byte) {
		t.Helper()
		p, err := b.Peek(frameHeaderLen)
		require.NoError(t, err)
		require.Equal(t, want[:frameHeaderLen], p)
		_, _ = b.Discard(frameHeaderLen)
		p, err = b.Peek(len(want) - frameHeaderLen)
		require.NoError(t, err)
		require.Equal(t, want[frameHeaderLen:], p)
		_, _ = b.Discard(len(p))
	}
	readFrame(frame)
	require.Len(t, c.asked, 2, "the first frame: a read that filled the small buffer, one for the rest")
	require.True(t, b.big == nil, "the small buffer grew instead of borrowing the large one")
	readFrame(frame)
	require.Len(t, c.asked, 3, "the second frame took more than one read")
	require.True(t, b.big == nil)
	require.LessOrEqual(t, len(b.small), maxSmallReadSize)

	readFrame(large)
	require.True(t, b.big != nil, "a frame larger than maxSmallReadSize is read in the large buffer")
	b.release()
}
