package h2

import (
	"io"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// A small request and response over loopback TCP, client and server in this
// process: the allocations they cost together. The bound is the count
// measured when it was written (AllocsPerRun truncates the mean, so noise
// does not show; the race detector does not change it here): a change that
// makes the hot path allocate per frame or per write (a parameter escaping
// to the heap, say) shows up here before it shows up in a benchmark. Lower
// it when you win.
func TestRoundTripAllocations(t *testing.T) {
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = st.Write([]byte("pong"))
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	hdr := Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}
	buf := make([]byte, 16)
	ctx := ctxT(t)
	one := func() {
		st, err := c.Request(ctx, hdr, &RequestOptions{EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctx)
		require.NoError(t, err)
		n, err := io.ReadFull(st, buf[:4])
		require.NoError(t, err)
		require.Equal(t, "pong", string(buf[:n]))
		_, err = st.Read(buf)
		require.Equal(t, io.EOF, err)
	}
	for range 100 {
		one() // warm the pools and tables
	}
	allocs := testing.AllocsPerRun(500, one)
	t.Logf("%.1f allocations per round trip", allocs)
	bound := 10.0
	if raceDetector {
		bound = 14
	}
	require.LessOrEqual(t, allocs, bound, "allocations per round trip grew")
}

// Every stream is one allocation of this struct, on each side: its size
// class is most of what a small call allocates. 512 bytes is the largest
// size class whose objects carry no malloc header (larger ones take 8 bytes
// more and the class above: 576, then 640, where the Stream was). It fits,
// 504 bytes, since push, informational responses, the shared deadline and
// the context package's context went behind lazily made parts
// (stream_rare.go, stream_deadline.go, stream_context.go) and the priority
// was packed (streamPrio): a field that pushes it past costs every stream
// 64 bytes and the header.
func TestStreamFitsItsSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Stream{}), uintptr(512))
}

// Every connection holds one Session, allocated in the 1,792-byte size
// class (it fits with 8 bytes to spare): most of an idle connection's Go
// heap besides its goroutines and read buffer. It was 2,312 bytes, in the
// 2,688-byte class, before a server's sessions shared their Options, the
// rarely used state moved behind sessionRare and the flags sat together;
// a field that pushes it past 1,792 costs every connection 256 bytes more.
func TestSessionFitsItsSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Session{}), uintptr(1792))
}
