package h2

import "time"

// Options configure a session, on either side. The zero value is ready to use:
// every zero field takes the safe default documented beside it.
type Options struct {
	// Settings are advertised to the peer in the first SETTINGS frame. Zero
	// fields take DefaultSettings' values.
	Settings Settings
	// ConnWindowSize is the connection-level receive window (default 16 MiB).
	// It bounds how many received bytes can wait for the application across all streams.
	ConnWindowSize uint32
	// SettingsTimeout closes the session with SETTINGS_TIMEOUT when the peer
	// does not acknowledge our SETTINGS in time (default 10s, negative disables).
	SettingsTimeout time.Duration
	// KeepaliveInterval, when positive, sends a PING after that long without
	// receiving anything (one interval after the last frame arrived); if the
	// ack does not come within KeepaliveTimeout (default 20s) the session is
	// closed with ErrPingTimeout. A dead peer is found within
	// KeepaliveInterval+KeepaliveTimeout.
	KeepaliveInterval time.Duration
	KeepaliveTimeout  time.Duration
	// IdleTimeout, when positive, gracefully closes a session that has had no
	// open streams (and, on a server, no handler running) for that long,
	// counted from when the last one ended (like grpc-go's MaxConnectionIdle).
	// It closes no later than 2×IdleTimeout after that, when a handler
	// returned after its stream closed (idle_close.go says why).
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to the connection (default 30s, negative
	// disables): a peer that stops reading cannot hold the session forever.
	WriteTimeout time.Duration
	// StallTimeout closes the session with ErrPeerNotReading when what we
	// wrote makes no progress towards the peer for that long (default 20s,
	// negative disables): the peer's TCP acknowledges nothing while bytes
	// wait in the kernel's send queue, or, where the kernel cannot tell, a
	// PING sent behind our data is not acknowledged and nothing else shows
	// that the peer reads. A peer that reads slowly but steadily, or that
	// keeps a stream's flow-control window closed, is not stalled; an idle
	// connection is never checked.
	StallTimeout time.Duration
	// Timeout, when positive, is an inactivity timeout: once nothing was
	// read or written for that long, Hooks.OnTimeout is called, or without
	// that hook the session is closed gracefully (Node's server.setTimeout
	// and session.setTimeout with 'timeout'; see Session.SetTimeout). On a
	// server it applies to every session.
	Timeout time.Duration
	// PeerMaxConcurrentStreams is what a client assumes of the server's
	// MAX_CONCURRENT_STREAMS until its SETTINGS arrive (default 100, the
	// RFC's recommended minimum; Node's peerMaxConcurrentStreams).
	PeerMaxConcurrentStreams uint32
	// MaxEncoderTableSize bounds the dynamic table of our HPACK encoder
	// below what the peer allows (Node's maxDeflateDynamicTableSize): 0
	// keeps the peer's limit, negative uses no dynamic table at all.
	MaxEncoderTableSize int
	// MaxSendHeaderBlockLength, when positive, refuses to send a header
	// block (request, response, informational, trailers, promise) that
	// could encode longer than that many bytes, before any of it is queued,
	// with an error matching ErrHeaderBlockTooLong (Node's
	// maxSendHeaderBlockLength). 0 sends blocks of any length, within the
	// peer's MAX_HEADER_LIST_SIZE for requests.
	MaxSendHeaderBlockLength uint32
	// Limits bound what a peer can make this session spend.
	Limits Limits
	// Hooks report what Node reports as session events.
	Hooks Hooks
	// Padding pads the HEADERS and DATA frames we send (nil: none), like
	// Node's paddingStrategy: PadMax, PadAligned, or a function of one's
	// own (Node's selectPadding). DATA padding counts against flow control.
	Padding PaddingStrategy
	// Origins, on a server, are sent in an ORIGIN frame (RFC 8336) right
	// after our first SETTINGS, like Node's origins option; see
	// Session.Origin.
	Origins []string

	// clock, when set, replaces time.Now for the clock reads on a stream's
	// path (clock.go), so that a test can count them.
	clock func() int64
}

// Limits bound every resource a peer can make a session spend. Zero fields
// take the defaults in parentheses.
type Limits struct {
	// MaxHeaderListPairs bounds the fields in one received header block (1000).
	MaxHeaderListPairs int
	// MaxContinuationFrames bounds the CONTINUATION frames of one header block (128),
	// against CONTINUATION floods (CVE-2024-27316 family).
	MaxContinuationFrames int
	// MaxOutstandingPings bounds our own unacknowledged pings (10).
	MaxOutstandingPings int
	// MaxQueuedControlFrames bounds frames queued for the writer that the peer
	// provoked (ping and settings acks, resets) while it does not read (10000),
	// against CVE-2019-9512/9514/9515.
	MaxQueuedControlFrames int
	// MaxSessionMemory bounds the bytes buffered for sending across all streams
	// of a session (32 MiB); writers block beyond it.
	MaxSessionMemory int
	// StreamWriteBuffer bounds the bytes one stream buffers for sending (256 KiB).
	StreamWriteBuffer int
	// ResetRate and ResetBurst bound the RST_STREAM frames a peer may send, as a
	// token bucket (1000/s, burst 2000), against rapid reset (CVE-2023-44487).
	ResetRate, ResetBurst int
	// EmptyFrameRate and EmptyFrameBurst bound DATA/HEADERS/CONTINUATION frames
	// that carry nothing (100/s, burst 1000), against CVE-2019-9518.
	EmptyFrameRate, EmptyFrameBurst int
	// MaxSettings bounds the parameters in one received SETTINGS frame (32,
	// as Node's maxSettings); a peer that sends more is disconnected with
	// ENHANCE_YOUR_CALM.
	MaxSettings int
	// MaxHandlerQueue bounds the streams waiting for a handler goroutine once
	// MaxConcurrentStreams handlers run (4x MaxConcurrentStreams).
	MaxHandlerQueue int
}

// Hooks are optional callbacks for session events. They run on the session's
// reader goroutine: they must return quickly and must not block on the session
// (to close it from a hook, AbortAsync; Abort and Close would wait for the
// reader, that is for the hook itself).
type Hooks struct {
	// OnGoAway: the peer sent GOAWAY.
	OnGoAway func(s *Session, code ErrCode, lastStreamID uint32, debug []byte)
	// OnPing: the peer sent a PING (not an ack).
	OnPing func(s *Session, payload [8]byte)
	// OnRemoteSettings: the peer's SETTINGS were applied.
	OnRemoteSettings func(s *Session, settings Settings)
	// OnLocalSettingsAck: the peer acknowledged our SETTINGS.
	OnLocalSettingsAck func(s *Session, settings Settings)
	// OnFrameError: a frame from the peer was rejected with a stream or connection error.
	OnFrameError func(s *Session, t FrameType, streamID uint32, err error)
	// OnStreamReset: the peer reset a stream.
	OnStreamReset func(s *Session, streamID uint32, code ErrCode)
	// OnPush: the server promised a request (PUSH_PROMISE) on parent, a
	// request of ours that set no RequestOptions.OnPush; pushed will carry
	// the response (Node's client-side 'stream' event). It needs
	// Settings.EnablePush. The hook may Reset pushed to refuse it; to read
	// it, hand it to another goroutine. Without this hook and the request's,
	// promises are refused with RST_STREAM(CANCEL).
	OnPush func(parent *Stream, promised Header, pushed *Stream)
	// OnAltSvc: the server advertised an alternative service (ALTSVC, RFC
	// 7838; Node's 'altsvc' event): for origin on stream 0, or for the
	// origin of stream streamID (origin "").
	OnAltSvc func(s *Session, value, origin string, streamID uint32)
	// OnOrigin: the server sent an ORIGIN frame (RFC 8336; Node's 'origin'
	// event); the origins are also added to OriginSet.
	OnOrigin func(s *Session, origins []string)
	// OnTimeout: Options.Timeout passed without activity. It runs on a
	// timer's goroutine, not the reader's; the session stays open unless
	// the hook closes it.
	OnTimeout func(s *Session)
	// OnStreamPerformance: a stream closed; stats are its final counters
	// and timings (Node's Http2Stream performance entry). It and
	// OnSessionPerformance run on a goroutine of their own, one call at a
	// time, in the order the streams closed, shortly after; they may use
	// the session freely.
	OnStreamPerformance func(s *Session, streamID uint32, stats StreamStats)
	// OnSessionPerformance: the session ended; stats are its final counters
	// (Node's Http2Session performance entry: frames sent and received,
	// last ping RTT, streams opened, their average duration), reported
	// after every stream's entry.
	OnSessionPerformance func(s *Session, stats SessionStats)
	// OnClose: the session ended; err is nil for a clean close.
	OnClose func(s *Session, err error)
}

func (o Options) normalized() Options {
	o.Settings = o.Settings.withDefaults()
	if o.ConnWindowSize == 0 {
		o.ConnWindowSize = 16 << 20
	}
	if o.ConnWindowSize > maxWindow {
		o.ConnWindowSize = maxWindow
	}
	if o.SettingsTimeout == 0 {
		o.SettingsTimeout = 10 * time.Second
	}
	if o.KeepaliveTimeout == 0 {
		o.KeepaliveTimeout = 20 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = 20 * time.Second
	}
	l := &o.Limits
	setDefault(&l.MaxHeaderListPairs, 1000)
	setDefault(&l.MaxContinuationFrames, 128)
	setDefault(&l.MaxOutstandingPings, 10)
	setDefault(&l.MaxQueuedControlFrames, 10000)
	setDefault(&l.MaxSessionMemory, 32<<20)
	setDefault(&l.StreamWriteBuffer, 256<<10)
	setDefault(&l.ResetRate, 1000)
	setDefault(&l.ResetBurst, 2000)
	setDefault(&l.EmptyFrameRate, 100)
	setDefault(&l.EmptyFrameBurst, 1000)
	setDefault(&l.MaxSettings, 32)
	if o.PeerMaxConcurrentStreams == 0 {
		o.PeerMaxConcurrentStreams = 100
	}
	setDefault(&l.MaxHandlerQueue, 4*int(min(o.Settings.MaxConcurrentStreams, 1<<20)))
	return o
}

func setDefault(p *int, v int) {
	if *p <= 0 {
		*p = v
	}
}

// tokenBucket is a rate limit for peer-provoked work; it needs no goroutine.
// Every session keeps two: the compact fields (24 bytes, not 48) are part of
// what an idle connection costs.
type tokenBucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last take, 0 before the first
	rate   float32
	burst  float32
}

func newTokenBucket(rate, burst int) tokenBucket {
	return tokenBucket{tokens: float64(burst), rate: float32(rate), burst: float32(burst)}
}

// take spends one token and reports whether one was available. A clock
// that went back adds no tokens and takes none away.
func (b *tokenBucket) take(now time.Time) bool {
	t := now.UnixNano()
	if b.last != 0 {
		elapsed := time.Duration(max(t-b.last, 0))
		b.tokens = min(float64(b.burst), b.tokens+elapsed.Seconds()*float64(b.rate))
	}
	b.last = t
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
