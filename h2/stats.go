package h2

import (
	"sync/atomic"
	"time"
)

// SessionStats are a session's counters and timings, like Node's
// Http2Session performance entries.
type SessionStats struct {
	StartTime             time.Time
	BytesReceived         int64
	BytesSent             int64
	FramesReceived        int64
	FramesSent            int64
	StreamsOpened         int64
	PeakConcurrentStreams int
	AvgStreamDuration     time.Duration
	PingsSent             int64
	LastPingRTT           time.Duration
	// LastReceived is when the last read from the connection brought frames
	// (the session's start until the first): a keepalive schedules its ping
	// one interval after it.
	LastReceived time.Time
}

// sessionCounters is where a session keeps its statistics: the reader counts
// inbound frames with atomics (it holds no lock then), the rest is under mu.
type sessionCounters struct {
	SessionStats
	bytesIn         atomic.Int64
	framesIn        atomic.Int64
	bytesOut        int64
	streamDurations time.Duration
	streamsClosed   int64
}

func (st *sessionCounters) addOut(n int) { st.bytesOut += int64(n) }

// StreamStats are one stream's counters and timings, like Node's
// Http2Stream performance entries.
type StreamStats struct {
	Opened        time.Time
	FirstHeader   time.Time // the peer's (first final) HEADERS arrived
	FirstByte     time.Time // the peer's first DATA byte arrived
	FirstByteSent time.Time // our first DATA byte was framed for the wire
	Closed        time.Time
	BytesSent     int64
	BytesReceived int64
}

// streamStats is what a stream keeps for StreamStats: its times as unix
// nanoseconds (0: not yet), 32 bytes without pointers where four time.Time
// take 96 with four pointers for the garbage collector to scan, per stream.
// The read path stamps them with the time of the read batch (lastActivity).
type streamStats struct {
	opened, firstHeader, firstByte, firstByteSent, closed int64
	bytesSent, bytesReceived                              int64
}

func (t *streamStats) public() StreamStats {
	return StreamStats{Opened: unixNano(t.opened), FirstHeader: unixNano(t.firstHeader), FirstByte: unixNano(t.firstByte),
		FirstByteSent: unixNano(t.firstByteSent), Closed: unixNano(t.closed), BytesSent: t.bytesSent, BytesReceived: t.bytesReceived}
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Duration is how long the stream was open (so far, while it is).
func (s StreamStats) Duration() time.Duration {
	if s.Closed.IsZero() {
		return time.Since(s.Opened)
	}
	return s.Closed.Sub(s.Opened)
}

// TimeToFirstByte is the time from opening to the first DATA byte received.
func (s StreamStats) TimeToFirstByte() time.Duration {
	if s.FirstByte.IsZero() {
		return 0
	}
	return s.FirstByte.Sub(s.Opened)
}

// TimeToFirstByteSent is the time from opening to our first DATA byte
// framed for the wire (Node's timeToFirstByteSent).
func (s StreamStats) TimeToFirstByteSent() time.Duration {
	if s.FirstByteSent.IsZero() {
		return 0
	}
	return s.FirstByteSent.Sub(s.Opened)
}

// TimeToFirstHeader is the time from opening to the peer's first final
// HEADERS (Node's timeToFirstHeader); for a stream the peer opened, 0.
func (s StreamStats) TimeToFirstHeader() time.Duration {
	if s.FirstHeader.IsZero() {
		return 0
	}
	return s.FirstHeader.Sub(s.Opened)
}

// Stats returns a snapshot of the session's counters.
func (s *Session) Stats() SessionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := SessionStats{
		StartTime:             s.stats.StartTime,
		BytesReceived:         s.stats.bytesIn.Load(),
		BytesSent:             s.stats.bytesOut,
		FramesReceived:        s.stats.framesIn.Load(),
		FramesSent:            s.stats.FramesSent,
		StreamsOpened:         s.stats.StreamsOpened,
		PeakConcurrentStreams: s.stats.PeakConcurrentStreams,
		PingsSent:             s.stats.PingsSent,
		LastPingRTT:           s.stats.LastPingRTT,
		LastReceived:          time.Unix(0, s.lastActivity.Load()),
	}
	if s.stats.streamsClosed > 0 {
		out.AvgStreamDuration = s.stats.streamDurations / time.Duration(s.stats.streamsClosed)
	}
	return out
}

// SessionState is a snapshot of a session's protocol state, like Node's session.state.
type SessionState struct {
	LocalWindowSize       int64 // connection window the peer may still fill
	RemoteWindowSize      int64 // connection window we may still fill
	NextStreamID          uint32
	LastProcessedStreamID uint32 // highest peer-initiated stream seen
	OpenStreams           int
	OutboundQueueSize     int // control frames waiting for the writer
	OutboundBufferedBytes int // stream bytes waiting for the writer
	LocalHeaderTableSize  uint32
	RemoteHeaderTableSize uint32
	// EncoderTableInUse and DecoderTableInUse are the bytes the dynamic
	// tables of our HPACK encoder and decoder hold (RFC 7541 §4.1; Node's
	// deflateDynamicTableSize and inflateDynamicTableSize).
	EncoderTableInUse, DecoderTableInUse uint32
	GoAwaySent, GoAwayRecvd              bool
}

// State returns a snapshot of the session's protocol state.
func (s *Session) State() SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SessionState{
		LocalWindowSize:       s.recvFlow.avail(),
		RemoteWindowSize:      s.sendFlow.avail(),
		NextStreamID:          s.nextStreamID,
		LastProcessedStreamID: s.lastPeerStream,
		OpenStreams:           len(s.streams),
		OutboundQueueSize:     len(s.ctrl),
		OutboundBufferedBytes: s.buffered,
		LocalHeaderTableSize:  s.local.HeaderTableSize,
		RemoteHeaderTableSize: s.remote.HeaderTableSize,
		EncoderTableInUse:     s.hencUse.inUse.Load(),
		DecoderTableInUse:     s.hdecUse.inUse.Load(),
		GoAwaySent:            s.goAwaySent,
		GoAwayRecvd:           s.goAwayRecv,
	}
}
