package rpc

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Eight 1 MiB messages in flight at once (unary calls at c=8) each hold a
// 2 MiB buffer; all eight are kept across collections, where a list of two
// per class made six of them new, zeroed and faulted-in allocations after
// every other GC.
func TestEightMiBBuffersInFlightSurviveGC(t *testing.T) {
	p := newBufPool()
	const n, size = 8, 1<<20 + 14 // a 1 MiB message with its prefix and framing
	held := make(map[*[]byte]bool, n)
	bufs := make([]*[]byte, n)
	for i := range bufs {
		bufs[i] = p.get(size)
		held[bufs[i]] = true
	}
	for _, b := range bufs {
		p.put(b)
	}
	runtime.GC()
	runtime.GC()
	runtime.GC()
	for range n {
		b := p.get(size)
		require.True(t, held[b], "a 2 MiB buffer was lost to the GC and allocated anew")
		delete(held, b)
	}
}

// A message received is never unmarshaled from a buffer that a message sent
// has just left, nor marshaled into one a message received has: the two
// kinds keep to their own pools (see bufpool.go for what mixing them cost).
func TestSendAndReceiveBuffersKeepApart(t *testing.T) {
	const size = 1 << 20
	msg := make([]byte, size)
	for range 3 {
		sendBufs.free.Empty()
		recvBufs.free.Empty()
		sent, err := encodeMessage(ProtoCodec, nil, wrapperspb.Bytes(msg), defaultMaxSendMsgSize, 0)
		require.NoError(t, err)
		sendBufs.put(sent)

		f := &framedBytes{in: frame(0, msg), chunk: 1 << 20}
		er := envelopeReader{r: f, maxSize: 4 << 20, last: size}
		_, got, err := er.next()
		require.NoError(t, err)
		require.True(t, sent != got.pooled, "a received message landed in a send buffer")
		got.release()

		next, err := encodeMessage(ProtoCodec, nil, wrapperspb.Bytes(msg), defaultMaxSendMsgSize, 0)
		require.NoError(t, err)
		require.True(t, got.pooled != next, "a message was marshaled into a receive buffer")
		sendBufs.put(next)
	}
}
