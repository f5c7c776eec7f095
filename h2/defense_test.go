package h2

import (
	"bytes"
	"errors"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// Each test here attacks one server session with a raw-frame peer while a
// well-behaved client keeps talking to the same Server over loopback, and
// checks three things: the attacker is cut off (or its cost is bounded), the
// bystander is served throughout, and memory and goroutines stay bounded.

// defenseLimits are small enough that every flood ends in milliseconds.
var defenseLimits = Limits{
	MaxContinuationFrames:  16,
	MaxQueuedControlFrames: 100,
	ResetRate:              10,
	ResetBurst:             100,
	EmptyFrameRate:         10,
	EmptyFrameBurst:        100,
	StreamWriteBuffer:      64 << 10,
	MaxSessionMemory:       1 << 20,
}

// arena is one server under attack, with its close errors recorded.
type arena struct {
	srv       *Server
	addr      string
	bystander bystander
	mu        sync.Mutex
	closeErrs []error
	heap0     uint64
}

func newArena(t *testing.T, h Handler, opts Options) *arena {
	goroutineLeakCheck(t)
	if h == nil {
		h = okHandler
	}
	a := &arena{}
	attack := h
	// The bystander's requests always get the echo handler.
	h = HandlerFunc(func(st *Stream) {
		if p := st.Path(); p == "/bystander" || p == "/after" {
			okHandler(st)
			return
		}
		attack.ServeStream(st)
	})
	opts.Hooks.OnClose = func(_ *Session, err error) {
		a.mu.Lock()
		a.closeErrs = append(a.closeErrs, err)
		a.mu.Unlock()
	}
	a.srv = &Server{Handler: h, Options: opts}
	a.addr = newTestServer(t, a.srv)
	a.heap0 = heapInUse()
	a.bystander = startBystander(t, a.addr)
	return a
}

// attacker connects a raw peer and completes the handshake.
func (a *arena) attacker(t *testing.T, settings ...Setting) *peer {
	p := newServerPeer(t, a.srv)
	p.handshake(settings...)
	return p
}

// finish checks that the bystander was served and memory stayed bounded.
func (a *arena) finish(t *testing.T, heapLimit uint64) {
	t.Helper()
	requireServed(t, a.bystander, a.addr)
	if grown := int64(heapInUse()) - int64(a.heap0); grown > int64(heapLimit) {
		t.Fatalf("heap grew by %d bytes during the attack (limit %d)", grown, heapLimit)
	}
}

// closedWith waits for the attacker's session to end and checks its error.
func (a *arena) closedWith(t *testing.T, p *peer, code ErrCode) {
	t.Helper()
	p.waitDone()
	// OnClose runs just after the session is done: poll for it.
	deadline := time.Now().Add(waitLong)
	for {
		a.mu.Lock()
		errs := append([]error(nil), a.closeErrs...)
		a.mu.Unlock()
		for _, err := range errs {
			var ce *ConnError
			if errors.As(err, &ce) && ce.Code == code && !ce.Remote {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session closed with %s; close errors: %v", code, errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// flood writes frames made by gen in batches until n are written or the
// connection fails, in the background; it reports how many were written.
func (p *peer) flood(n int, gen func(i int, dst []byte) []byte) <-chan int {
	done := make(chan int, 1)
	go func() {
		var buf []byte
		i := 0
		for i < n {
			buf = buf[:0]
			for j := 0; j < 64 && i < n; j++ {
				buf = gen(i, buf)
				i++
			}
			if p.write(buf) != nil {
				break
			}
		}
		done <- i
	}()
	return done
}

func blockingHandler() HandlerFunc {
	return func(st *Stream) { <-st.Context().Done() }
}

// TestRapidReset (CVE-2023-44487): thousands of streams opened and reset at
// once cost no more than the reset budget, then GOAWAY(ENHANCE_YOUR_CALM).
func TestRapidReset(t *testing.T) {
	a := newArena(t, blockingHandler(), Options{Limits: defenseLimits})
	p := a.attacker(t)
	p.startReader()
	g0 := runtime.NumGoroutine()
	block := p.encode(getRequest()...)
	sent := p.flood(20000, func(i int, dst []byte) []byte {
		id := uint32(2*i + 1)
		dst = appendHeaders(dst, id, false, true, nil, block)
		return appendRSTStream(dst, id, ErrCodeCancel)
	})
	p.expectGoAway(ErrCodeEnhanceYourCalm)
	require.Less(t, <-sent, 20000, "the attacker was cut off before the flood ended")
	// Handlers never piled up beyond the concurrency limit.
	require.Less(t, runtime.NumGoroutine()-g0, int(DefaultSettings().MaxConcurrentStreams)+20)
	a.closedWith(t, p, ErrCodeEnhanceYourCalm)
	a.finish(t, 32<<20)
}

// TestContinuationFlood (CVE-2024-27316 family): a header block that never
// ends, in non-empty or zero-length CONTINUATION frames, is cut off.
func TestContinuationFlood(t *testing.T) {
	for _, tc := range []struct {
		name string
		frag func(p *peer, i int) []byte
	}{
		{"small fragments", func(p *peer, i int) []byte { return p.encode("x-flood", strings.Repeat("a", 100)) }},
		{"zero length", func(p *peer, i int) []byte { return nil }},
		{"large fragments", func(p *peer, i int) []byte { return bytes.Repeat([]byte{0}, 16000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Lift the frame-count limit for "large fragments" so that the
			// byte limit on a header block is what stops it.
			lim := defenseLimits
			if tc.name == "large fragments" {
				lim.MaxContinuationFrames = 100000
			}
			a := newArena(t, nil, Options{Limits: lim})
			p := a.attacker(t)
			p.startReader()
			p.mustWrite(appendHeaders(nil, 1, true, false, nil, p.encode(getRequest()...)))
			sent := p.flood(100000, func(i int, dst []byte) []byte {
				return appendContinuation(dst, 1, false, tc.frag(p, i))
			})
			p.expectGoAway(ErrCodeEnhanceYourCalm)
			require.Less(t, <-sent, 100000)
			a.closedWith(t, p, ErrCodeEnhanceYourCalm)
			a.finish(t, 32<<20)
		})
	}
}

// TestHPACKBomb: one large dynamic-table entry referenced thousands of times
// decodes to a huge header list from a small block; the list limit answers
// with 431 (or a reset) and the session lives on.
func TestHPACKBomb(t *testing.T) {
	a := newArena(t, nil, Options{Limits: defenseLimits})
	p := a.attacker(t)
	p.startReader()
	// A 4000-byte value, added to the dynamic table (index 62), then the
	// one-byte indexed representation 0xbe (index 62) 30000 times: 30 KB on
	// the wire, 120 MB of headers if decoded into memory.
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
	_ = enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "http"})
	_ = enc.WriteField(hpack.HeaderField{Name: ":path", Value: "/"})
	_ = enc.WriteField(hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("b", 4000)})
	frag := append(blk.Bytes(), bytes.Repeat([]byte{0xbe}, 30000)...)
	// The peer's own decoder never sees this block: it only decodes what the
	// server sends, so the peer's table stays in sync.
	var out []byte
	out = appendHeaders(out, 1, true, false, nil, frag[:16000])
	rest := frag[16000:]
	for len(rest) > 0 {
		n := min(len(rest), 16000)
		out = appendContinuation(out, 1, n == len(rest), rest[:n])
		rest = rest[n:]
	}
	p.mustWrite(out)
	f, _ := p.expect("431 or RST", func(f rawFrame) bool {
		return f.StreamID == 1 && (f.Fields != nil || f.Type == FrameRSTStream) || f.Type == FrameGoAway
	})
	if f.Type == FrameHeaders {
		require.Equal(t, "431", f.Fields.Get(":status"))
	} else {
		require.Equal(t, FrameRSTStream, f.Type, "got %v", f)
	}
	// The session survives and serves the next request; the table entry
	// is still usable (the decoder kept its state in sync).
	p.request(3, true, append(getRequest(), "x-ok", "1")...)
	h := p.expectHeaders(3)
	require.Equal(t, "200", h.Fields.Get(":status"))
	a.finish(t, 32<<20)
}

// TestControlFloodNoRead (CVE-2019-9512/9514/9515): a peer that never reads
// provokes PING acks, SETTINGS acks or RST_STREAMs; once more than
// MaxQueuedControlFrames are queued the session is closed with ENHANCE_YOUR_CALM.
func TestControlFloodNoRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(p *peer) func(i int, dst []byte) []byte
	}{
		{"ping", func(p *peer) func(int, []byte) []byte {
			return func(i int, dst []byte) []byte { return AppendPing(dst, false, [8]byte{byte(i)}) }
		}},
		{"settings", func(p *peer) func(int, []byte) []byte {
			return func(i int, dst []byte) []byte { return AppendSettings(dst, Setting{SettingHeaderTableSize, 4096}) }
		}},
		{"reset-provoking", func(p *peer) func(int, []byte) []byte {
			// Each malformed request (an uppercase field name) is answered
			// with RST_STREAM(PROTOCOL_ERROR), and the HPACK encoding stays
			// small because the bad field is indexed after its first use.
			return func(i int, dst []byte) []byte {
				return appendHeaders(dst, uint32(2*i+1), true, true, nil, p.encode(getRequest("X-Bad", "1")...))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newArena(t, nil, Options{Limits: defenseLimits, WriteTimeout: time.Second})
			p := a.attacker(t) // handshake read; from here on, never read again
			sent := p.flood(50000, tc.gen(p))
			a.closedWith(t, p, ErrCodeEnhanceYourCalm)
			<-sent // the server reads on until its last write times out: the flood may finish
			a.finish(t, 32<<20)
		})
	}
}

// TestEmptyFrameFlood (CVE-2019-9518): DATA frames with no data and no
// END_STREAM cost the server work for nothing; past the budget, GOAWAY.
func TestEmptyFrameFlood(t *testing.T) {
	a := newArena(t, blockingHandler(), Options{Limits: defenseLimits})
	p := a.attacker(t)
	p.startReader()
	p.request(1, false)
	sent := p.flood(100000, func(i int, dst []byte) []byte { return appendData(dst, 1, false, nil) })
	p.expectGoAway(ErrCodeEnhanceYourCalm)
	require.Less(t, <-sent, 100000)
	a.closedWith(t, p, ErrCodeEnhanceYourCalm)
	a.finish(t, 32<<20)
}

// bigResponder writes 8 MiB per stream, as fast as flow control lets it.
func bigResponder(wrote chan<- error) HandlerFunc {
	chunk := make([]byte, 32<<10)
	return func(st *Stream) {
		_ = st.Respond(nil, nil)
		var err error
		for i := 0; i < 256 && err == nil; i++ {
			_, err = st.Write(chunk)
		}
		if wrote != nil {
			wrote <- err
		}
	}
}

// TestZeroWindowStall (CVE-2019-9517): a peer that opens many streams with a
// zero window and never reads makes handlers block in Write; the data they
// buffer is bounded by the session memory budget.
func TestZeroWindowStall(t *testing.T) {
	lim := defenseLimits
	a := newArena(t, bigResponder(nil), Options{Limits: lim, Settings: Settings{MaxConcurrentStreams: 50}})
	p := a.attacker(t, Setting{SettingInitialWindowSize, 0})
	p.startReader()
	for id := uint32(1); id < 100; id += 2 {
		p.request(id, true)
	}
	// All 50 handlers are now stuck in Write with data buffered.
	var sess *Session
	eventually(t, "handlers fill their buffers", func() bool {
		a.srv.mu.Lock()
		defer a.srv.mu.Unlock()
		for s := range a.srv.sessions {
			st := s.State()
			if st.OpenStreams == 50 && st.OutboundBufferedBytes >= lim.MaxSessionMemory-lim.StreamWriteBuffer {
				sess = s
				return true
			}
		}
		return false
	})
	time.Sleep(100 * time.Millisecond)
	require.LessOrEqual(t, sess.State().OutboundBufferedBytes, lim.MaxSessionMemory, "the session memory budget holds")
	a.finish(t, 16<<20)
	require.NoError(t, p.conn.Close()) // the handlers are released when the session ends
	p.waitDone()
}

// TestDataDribble (CVE-2019-9511): window updates of a few bytes at a time
// force tiny DATA frames; the server keeps up without buffering more than
// its budget, and the stream completes intact.
func TestDataDribble(t *testing.T) {
	lim := defenseLimits
	wrote := make(chan error, 1)
	a := newArena(t, HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, nil)
		_, err := st.Write(bytes.Repeat([]byte{'d'}, 4000))
		wrote <- err
	}), Options{Limits: lim})
	p := a.attacker(t, Setting{SettingInitialWindowSize, 0})
	p.startReader()
	p.request(1, true)
	got := 0
	for got < 4000 {
		p.mustWrite(appendWindowUpdate(nil, 1, 3))
		f, _ := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && f.StreamID == 1 })
		require.LessOrEqual(t, len(f.Payload), 3, "never more than the window allows")
		got += len(f.Payload)
	}
	require.Equal(t, 4000, got)
	require.NoError(t, <-wrote)
	a.finish(t, 16<<20)
}

// TestPriorityShuffling (CVE-2019-9513): a storm of PRIORITY frames that
// reshuffle dependencies among open and idle streams costs bounded memory,
// and the session stays responsive.
func TestPriorityShuffling(t *testing.T) {
	a := newArena(t, blockingHandler(), Options{Limits: defenseLimits})
	p := a.attacker(t)
	p.startReader()
	for id := uint32(1); id <= 39; id += 2 {
		p.request(id, false)
	}
	rng := rand.New(rand.NewSource(1))
	sent := p.flood(200000, func(i int, dst []byte) []byte {
		id := uint32(rng.Intn(100000))*2 + 1 // open, closed and many idle streams
		dep := uint32(rng.Intn(100000))*2 + 1
		if dep == id {
			dep += 2
		}
		return appendPriority(dst, id, PriorityParam{StreamDep: dep, Exclusive: rng.Intn(2) == 0, Weight: uint8(rng.Intn(256))})
	})
	require.Equal(t, 200000, <-sent)
	p.mustWrite(AppendPing(nil, false, [8]byte{'a', 'l', 'i', 'v', 'e'}))
	f, _ := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
	require.Equal(t, byte('a'), f.Payload[0])
	a.finish(t, 16<<20)
}

// TestStreamExhaustion: streams beyond MAX_CONCURRENT_STREAMS are refused
// with REFUSED_STREAM, and served again once slots free up.
func TestStreamExhaustion(t *testing.T) {
	release := make(chan struct{})
	a := newArena(t, HandlerFunc(func(st *Stream) {
		<-release
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	}), Options{Limits: defenseLimits, Settings: Settings{MaxConcurrentStreams: 5}})
	p := a.attacker(t)
	p.startReader()
	for id := uint32(1); id <= 19; id += 2 {
		p.request(id, true)
	}
	for id := uint32(11); id <= 19; id += 2 {
		p.expectRST(id, ErrCodeRefusedStream)
	}
	close(release)
	served := map[uint32]string{}
	for len(served) < 5 {
		f, _ := p.expect("responses", func(f rawFrame) bool { return f.Fields != nil })
		served[f.StreamID] = f.Fields.Get(":status")
	}
	require.Equal(t, map[uint32]string{1: "200", 3: "200", 5: "200", 7: "200", 9: "200"}, served)
	p.request(21, true)
	require.Equal(t, "200", p.expectHeaders(21).Fields.Get(":status"))
	a.finish(t, 16<<20)
}

// TestRandomBytesAfterPreface: garbage after the preface ends the session
// with a GOAWAY carrying an error code, never a crash or a hang.
func TestRandomBytesAfterPreface(t *testing.T) {
	a := newArena(t, nil, Options{Limits: defenseLimits})
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 20; i++ {
		p := newServerPeer(t, a.srv)
		junk := make([]byte, 1+rng.Intn(4096))
		rng.Read(junk)
		p.startReader()
		// The write may fail once the server has seen enough: that is fine.
		_ = p.write(append([]byte(ClientPreface), junk...))
		frames := p.expectClosed()
		p.waitDone()
		var goAway *rawFrame
		for i := range frames {
			if frames[i].Type == FrameGoAway {
				goAway = &frames[i]
			}
		}
		if goAway != nil {
			require.NotEqual(t, ErrCodeNo, goAway.code(), "junk %x...", junk[:min(16, len(junk))])
		}
	}
	a.finish(t, 16<<20)
}

// TestBadPreface: a connection that does not start with the preface is
// closed without a session being served.
func TestBadPreface(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: okHandler})
	p.startReader()
	_ = p.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	p.expectClosed()
	p.waitDone()
}

// TestHugeHeaders: a request whose header list exceeds MAX_HEADER_LIST_SIZE
// gets 431 (or a reset); the session survives and serves the next request.
func TestHugeHeaders(t *testing.T) {
	a := newArena(t, nil, Options{Limits: defenseLimits, Settings: Settings{MaxHeaderListSize: 16 << 10}})
	p := a.attacker(t)
	p.startReader()
	block := p.encode(getRequest("x-huge", strings.Repeat("h", 15000), "x-huge2", strings.Repeat("i", 15000))...)
	out := appendHeaders(nil, 1, true, false, nil, block[:10000])
	out = appendContinuation(out, 1, false, block[10000:20000])
	out = appendContinuation(out, 1, true, block[20000:])
	p.mustWrite(out)
	f, _ := p.expect("431 or RST", func(f rawFrame) bool {
		return f.StreamID == 1 && (f.Fields != nil || f.Type == FrameRSTStream) || f.Type == FrameGoAway
	})
	if f.Type == FrameHeaders {
		require.Equal(t, "431", f.Fields.Get(":status"))
	} else {
		require.Equal(t, FrameRSTStream, f.Type, "got %v", f)
	}
	// Too many fields (rather than too many bytes) is refused the same way.
	many := getRequest()
	for i := 0; i < 1100; i++ {
		many = append(many, "x", "y")
	}
	p.request(3, true, many...)
	f, _ = p.expect("431 or RST", func(f rawFrame) bool {
		return f.StreamID == 3 && (f.Fields != nil || f.Type == FrameRSTStream) || f.Type == FrameGoAway
	})
	require.NotEqual(t, FrameGoAway, f.Type, "got %v", f)
	p.request(5, true)
	require.Equal(t, "200", p.expectHeaders(5).Fields.Get(":status"))
	a.finish(t, 16<<20)
}

// TestRapidResetStubbornHandlers (CVE-2023-44487, the costly variant):
// handlers that ignore cancellation keep running after their streams are
// reset, so the reset budget alone does not bound them. At most
// MaxConcurrentStreams handler goroutines run per session; new streams wait
// in a bounded queue, and overflowing it is ENHANCE_YOUR_CALM.
func TestRapidResetStubbornHandlers(t *testing.T) {
	release := make(chan struct{})
	lim := defenseLimits
	lim.ResetBurst, lim.ResetRate = 1<<20, 1<<20
	lim.MaxHandlerQueue = 10
	a := newArena(t, HandlerFunc(func(st *Stream) { <-release }),
		Options{Limits: lim, Settings: Settings{MaxConcurrentStreams: 5}})
	t.Cleanup(func() { close(release) })
	p := a.attacker(t)
	p.startReader()
	g0 := runtime.NumGoroutine()
	block := p.encode(getRequest()...)
	sent := p.flood(5000, func(i int, dst []byte) []byte {
		id := uint32(2*i + 1)
		dst = appendHeaders(dst, id, true, true, nil, block)
		return appendRSTStream(dst, id, ErrCodeCancel)
	})
	p.expectGoAway(ErrCodeEnhanceYourCalm)
	require.Less(t, <-sent, 5000)
	require.LessOrEqual(t, runtime.NumGoroutine()-g0, 5+5, "handler goroutines are bounded by MaxConcurrentStreams")
	a.closedWith(t, p, ErrCodeEnhanceYourCalm)
	a.finish(t, 32<<20)
}

// TestSilentClientCutOff: a connection that never sends the preface (or
// never acks our SETTINGS) is closed by the SETTINGS timeout, not kept forever.
// The timeout holds for the well-behaved clients too, which must ack within
// it however loaded the machine: a second, not 100 ms (the bystander once
// failed with SETTINGS_TIMEOUT under -cpu 1).
func TestSilentClientCutOff(t *testing.T) {
	a := newArena(t, nil, Options{Limits: defenseLimits, SettingsTimeout: time.Second})
	p := newServerPeer(t, a.srv) // says nothing at all
	p.startReader()
	p.waitDone()
	a.finish(t, 16<<20)
}

// TestSlowReaderCutOff: a peer that opens wide windows and then stops reading
// a large response holds the session only for WriteTimeout; the handler's
// Write then fails instead of blocking forever.
func TestSlowReaderCutOff(t *testing.T) {
	wrote := make(chan error, 1)
	a := newArena(t, bigResponder(wrote), Options{Limits: defenseLimits, WriteTimeout: 200 * time.Millisecond})
	p := a.attacker(t, Setting{SettingInitialWindowSize, 1<<31 - 1})
	p.mustWrite(appendWindowUpdate(nil, 0, 1<<30))
	p.request(1, true) // and never read again
	p.waitDone()
	select {
	case err := <-wrote:
		require.Error(t, err, "the handler's Write must fail once the session is gone")
	case <-time.After(waitLong):
		t.Fatal("the handler is still blocked in Write")
	}
	a.finish(t, 16<<20)
}
