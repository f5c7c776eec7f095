package h2

import (
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A small request with its body and a response with body and trailers, the
// shape of a unary gRPC call, over loopback TCP: the clock reads it costs on
// both sessions together (clock.go). It took 9 before the reader's and the
// writer's reads were shared; 5 is one per goroutine step that needs one
// (the caller opening the stream, each side's write and read batch).
func TestRoundTripClockReads(t *testing.T) {
	var reads atomic.Int64
	clock := func() int64 {
		reads.Add(1)
		return time.Now().UnixNano()
	}
	srv := &Server{Options: Options{clock: clock}, Handler: HandlerFunc(func(st *Stream) {
		_, _ = io.Copy(io.Discard, st)
		_ = st.Respond(Header{{Name: ":status", Value: "200"}},
			&RespondOptions{Body: []byte("pong"), Trailers: Header{{Name: "grpc-status", Value: "0"}}})
	})}
	c := dialTest(t, newTestServer(t, srv), &ClientOptions{Options: Options{clock: clock}})
	hdr := Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}
	ctx := ctxT(t)
	one := func() {
		st, err := c.Request(ctx, hdr, &RequestOptions{Body: []byte("ping"), EndStream: true})
		require.NoError(t, err)
		_, err = st.Response(ctx)
		require.NoError(t, err)
		body, err := io.ReadAll(st)
		require.NoError(t, err)
		require.Equal(t, "pong", string(body))
		require.Equal(t, "0", st.Trailers().Get("grpc-status"))
		stats := st.Stats()
		require.False(t, stats.Closed.Before(stats.Opened), "closed before opened")
		require.False(t, stats.FirstByteSent.IsZero(), "the request's DATA is stamped")
	}
	perCall := clockReadsPer(t, one, &reads) // after the connection settles: SETTINGS, their acks, window updates
	require.LessOrEqual(t, perCall, 5.5, "clock reads per round trip grew")
}

// Messages going back and forth on one stream, the shape of a bidi
// ping-pong: once the stream is open, only the readers read the clock, one
// read batch each per round trip. The writers read it per write for the
// write deadline before write_deadline.go: 4 per round trip.
func TestPingPongClockReads(t *testing.T) {
	var reads atomic.Int64
	clock := func() int64 {
		reads.Add(1)
		return time.Now().UnixNano()
	}
	srv := &Server{Options: Options{clock: clock}, Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		buf := make([]byte, 4)
		for {
			if _, err := io.ReadFull(st, buf); err != nil {
				return
			}
			if _, err := st.Write(buf); err != nil {
				return
			}
		}
	})}
	c := dialTest(t, newTestServer(t, srv), &ClientOptions{Options: Options{clock: clock}})
	ctx := ctxT(t)
	st, err := c.Request(ctx, Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/"}}, nil)
	require.NoError(t, err)
	_, err = st.Response(ctx)
	require.NoError(t, err)
	buf := make([]byte, 4)
	one := func() {
		_, err := st.Write([]byte("ping"))
		require.NoError(t, err)
		_, err = io.ReadFull(st, buf)
		require.NoError(t, err)
		require.Equal(t, "ping", string(buf))
	}
	perTrip := clockReadsPer(t, one, &reads) // past the stream's first DATA each way
	require.LessOrEqual(t, perTrip, 2.5, "clock reads per round trip grew")
	require.NoError(t, st.CloseWrite())
}

// One write that ends many small responses (a read batch of requests
// answered together, as under h2load) reads the clock once for all their
// stamps, first DATA byte and close, not twice per stream.
func TestWriteEndingManyStreamsReadsClockOnce(t *testing.T) {
	reads := 0
	tick := int64(1000)
	clock := func() int64 { reads++; tick++; return tick }
	s := writerSession(t, Options{clock: clock})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote.MaxConcurrentStreams = Unlimited
	var streams []*Stream
	for id := uint32(1); id <= 15; id += 2 {
		st := openStream(s, id, []byte("hello"))
		st.state = stateHalfClosedRemote // the peer ended its side: our END_STREAM closes it
		st.queued.end()
		s.sched.update(s, st)
		streams = append(streams, st)
	}
	reads = 0
	s.fillDataLocked()
	require.Equal(t, 1, reads, "one clock read for the write, not two per stream")
	for _, st := range streams {
		require.Equal(t, stateClosed, st.state)
		require.Equal(t, int64(5), st.stats.bytesSent)
		require.Equal(t, streams[0].stats.closed, st.stats.closed, "stream %d", st.id)
		require.Equal(t, st.stats.closed, st.stats.firstByteSent, "stream %d", st.id)
		require.Greater(t, st.stats.closed, st.stats.opened)
	}
}

// clockReadsPer runs one 20 times to settle, then 200 times, and returns
// the clock reads counted in reads per run of the 200.
func clockReadsPer(t *testing.T, one func(), reads *atomic.Int64) float64 {
	t.Helper()
	for range 20 {
		one()
	}
	const n = 200
	before := reads.Load()
	for range n {
		one()
	}
	per := float64(reads.Load()-before) / n
	t.Logf("%.2f clock reads per round trip", per)
	return per
}
