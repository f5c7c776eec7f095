package h2

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

// The fuzz targets feed a real server session what the fuzzer makes up and
// require that it never panics (a panic in any session goroutine kills the
// test binary), never hangs (every run ends within a deadline) and leaves no
// goroutine behind. The seeds below run with every plain `go test`.

// fuzzOptions keep every limit small so that one input cannot make a run slow.
var fuzzOptions = Options{
	Settings:        Settings{MaxConcurrentStreams: 8, MaxHeaderListSize: 4096, InitialWindowSize: 65535},
	ConnWindowSize:  1 << 20,
	SettingsTimeout: -1,
	WriteTimeout:    2 * time.Second,
	Limits: Limits{
		MaxContinuationFrames:  8,
		MaxQueuedControlFrames: 64,
		ResetBurst:             32,
		EmptyFrameBurst:        32,
		StreamWriteBuffer:      16 << 10,
		MaxSessionMemory:       64 << 10,
	},
}

// fuzzHandler exercises the stream API: read the body (bounded), respond,
// echo a little and send trailers.
var fuzzHandler = HandlerFunc(func(st *Stream) {
	st.SetDeadline(time.Now().Add(2 * time.Second))
	body, err := io.ReadAll(io.LimitReader(st, 1<<16))
	if err != nil {
		return
	}
	_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
	_, _ = st.Write(body[:min(len(body), 100)])
	_ = st.WriteTrailers(Header{{Name: "x-done", Value: "1"}})
})

const fuzzWait = 5 * time.Second

// fuzzWatchdog crashes the fuzz worker, with every goroutine's stack, when one
// input runs far longer than all the bounded waits of a run added up: a hang
// then becomes a reported, minimized, reproducible failure instead of a stall.
func fuzzWatchdog(t *testing.T) {
	timer := time.AfterFunc(time.Minute, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("fuzz input still running after a minute:\n%s", buf))
	})
	t.Cleanup(func() { timer.Stop() })
}

// runRawSession writes input to a fresh server session over a pipe while
// discarding everything the session writes, then closes the connection and
// requires the session to end.
func runRawSession(t *testing.T, input []byte) {
	fuzzWatchdog(t)
	goroutineLeakCheck(t)
	srv := &Server{Handler: fuzzHandler, Options: fuzzOptions}
	c, s := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(s)
	}()
	go func() { _, _ = io.Copy(io.Discard, c) }()
	_ = c.SetWriteDeadline(time.Now().Add(fuzzWait))
	_, err := c.Write(input)
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		err = nil // the session hung up on us: a fine outcome
	}
	if errors.Is(err, errDeadline) {
		t.Fatalf("the session stopped reading for %v without closing", fuzzWait)
	}
	_ = c.Close()
	select {
	case <-done:
	case <-time.After(fuzzWait):
		t.Fatal("the session did not end after its connection closed")
	}
}

func seedFrames(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func seedBlock(kv ...string) []byte {
	var b bytes.Buffer
	e := hpack.NewEncoder(&b)
	for i := 0; i < len(kv); i += 2 {
		_ = e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return b.Bytes()
}

// FuzzSession: a server session fed arbitrary bytes after the preface.
func FuzzSession(f *testing.F) {
	req := seedBlock(getRequest()...)
	f.Add([]byte{})
	f.Add(seedFrames(AppendSettings(nil)))
	f.Add(seedFrames(AppendSettings(nil), appendSettingsAck(nil), AppendPing(nil, false, [8]byte{1})))
	f.Add(seedFrames(AppendSettings(nil), appendHeaders(nil, 1, true, true, nil, req)))
	f.Add(seedFrames(AppendSettings(nil), appendHeaders(nil, 1, false, true, nil, req),
		appendData(nil, 1, false, []byte("body")), appendData(nil, 1, true, nil)))
	f.Add(seedFrames(AppendSettings(nil), appendHeaders(nil, 1, false, false, nil, req[:2]),
		appendContinuation(nil, 1, true, req[2:])))
	f.Add(seedFrames(AppendSettings(nil, Setting{SettingInitialWindowSize, 0}), appendHeaders(nil, 1, true, true, nil, req),
		appendWindowUpdate(nil, 1, 5), appendRSTStream(nil, 1, ErrCodeCancel)))
	f.Add(seedFrames(AppendSettings(nil), appendPriority(nil, 3, PriorityParam{StreamDep: 1}),
		appendPriorityUpdate(nil, 3, "u=1"), appendGoAway(nil, 0, ErrCodeNo, []byte("x"))))
	f.Add(seedFrames(AppendSettings(nil), appendRaw(nil, 0xfa, 0xff, 0, []byte("ext"))))
	f.Add([]byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		runRawSession(t, append([]byte(ClientPreface), data...))
	})
}

// FuzzFrame: one arbitrary frame (type, flags, stream, payload) on an
// established session with an open stream; afterwards the session must still
// answer a PING or have closed the connection.
func FuzzFrame(f *testing.F) {
	f.Add(uint8(FrameData), uint8(0), uint32(1), []byte("hello"))
	f.Add(uint8(FrameData), uint8(FlagPadded|FlagEndStream), uint32(1), []byte{200, 'a'})
	f.Add(uint8(FrameHeaders), uint8(FlagEndHeaders|FlagEndStream), uint32(1), seedBlock("x-trailer", "1"))
	f.Add(uint8(FrameHeaders), uint8(FlagEndHeaders|FlagPriority), uint32(3), append([]byte{0, 0, 0, 3, 1}, seedBlock(getRequest()...)...))
	f.Add(uint8(FrameHeaders), uint8(FlagEndHeaders), uint32(5), []byte{0xbe})
	f.Add(uint8(FramePriority), uint8(0), uint32(1), []byte{0, 0, 0, 1, 0})
	f.Add(uint8(FrameRSTStream), uint8(0), uint32(1), []byte{0, 0, 0, 8})
	f.Add(uint8(FrameSettings), uint8(0), uint32(0), []byte{0, 4, 0x80, 0, 0, 0})
	f.Add(uint8(FrameSettings), uint8(FlagAck), uint32(0), []byte{})
	f.Add(uint8(FramePushPromise), uint8(FlagEndHeaders), uint32(1), []byte{0, 0, 0, 2})
	f.Add(uint8(FramePing), uint8(0), uint32(0), []byte{1, 2, 3, 4, 5, 6, 7})
	f.Add(uint8(FrameGoAway), uint8(0), uint32(0), []byte{0, 0, 0, 1, 0, 0, 0, 0})
	f.Add(uint8(FrameWindowUpdate), uint8(0), uint32(1), []byte{0x7f, 0xff, 0xff, 0xff})
	f.Add(uint8(FrameContinuation), uint8(FlagEndHeaders), uint32(1), []byte{0x82})
	f.Add(uint8(FramePriorityUpdate), uint8(0), uint32(0), []byte{0, 0, 0, 1, 'u', '=', '9'})
	f.Add(uint8(0xff), uint8(0xff), uint32(0x7fffffff), []byte{})
	f.Fuzz(func(t *testing.T, typ, flags uint8, id uint32, payload []byte) {
		if len(payload) > 1<<14 {
			payload = payload[:1<<14] // beyond MAX_FRAME_SIZE is covered by FuzzSession
		}
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		p := newServerPeer(t, &Server{Handler: fuzzHandler, Options: fuzzOptions})
		p.handshake()
		p.startReader()
		p.request(1, false)
		probe := [8]byte{'p', 'r', 'o', 'b', 'e'}
		// Write errors mean the session hung up: the reads below see it.
		_ = p.write(appendRaw(nil, FrameType(typ), Flags(flags), id, payload))
		_ = p.write(AppendPing(nil, false, probe))
		deadline := time.Now().Add(fuzzWait)
		for {
			f, err := p.readFrame(time.Until(deadline))
			if errors.Is(err, errDeadline) {
				t.Fatal("the session neither answered the probe PING nor closed")
			}
			if err != nil || f.Type == FrameGoAway && f.code() != ErrCodeNo {
				break // closed, or closing with an error: both fine
			}
			if f.Type == FramePing && f.Flags.Has(FlagAck) && [8]byte(f.Payload) == probe {
				break
			}
		}
		_ = p.conn.Close()
		p.waitDone()
	})
}

// FuzzHeaderBlock: an arbitrary HPACK block as a request's header block, with
// a small header list limit. Decoding it directly with the same limits and
// checking it must not panic; on a session, the outcome must be a response, a
// reset or a connection error, and the session must not hang.
func FuzzHeaderBlock(f *testing.F) {
	f.Add(seedBlock(getRequest()...))
	f.Add(seedBlock(getRequest("content-length", "0")...))
	f.Add(seedBlock(":method", "CONNECT", ":authority", "h:1"))
	f.Add(seedBlock(getRequest("Upper", "x")...))
	f.Add(seedBlock(":path", "/", ":method", "GET", ":scheme", "http"))
	f.Add(seedBlock(getRequest("x-big", string(bytes.Repeat([]byte{'b'}, 3000)))...))
	f.Add([]byte{0x3f, 0xe1, 0x1f}) // dynamic table size update above the limit
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(append(seedBlock(getRequest("x-a", "aaaaaaaaaaaaaaaaaaaaaaaa")...), bytes.Repeat([]byte{0xbe}, 500)...))
	f.Fuzz(func(t *testing.T, block []byte) {
		if len(block) > 1<<14 {
			block = block[:1<<14]
		}
		var fields Header
		dec := hpack.NewDecoder(4096, func(hf hpack.HeaderField) {
			if len(fields) < 100 {
				fields = append(fields, HeaderField{Name: hf.Name, Value: hf.Value})
			}
		})
		dec.SetMaxStringLength(4096)
		if _, err := dec.Write(block); err == nil && dec.Close() == nil {
			for _, k := range []headerKind{kindRequest, kindResponse, kindTrailers} {
				if cl, reason := checkHeaderBlock(fields, k); reason != "" && cl != -1 {
					t.Fatalf("a rejected block reports content-length %d", cl)
				}
			}
		}

		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		p := newServerPeer(t, &Server{Handler: fuzzHandler, Options: fuzzOptions})
		p.handshake()
		p.startReader()
		_ = p.write(appendHeaders(nil, 1, true, true, nil, block))
		awaitStreamOutcome(t, p, 1)
		_ = p.conn.Close()
		p.waitDone()
	})
}

// FuzzClientSession: a client session with one request in flight, fed
// arbitrary bytes by its "server" after a valid SETTINGS frame. The request
// must end (served, reset or failed) and the session must not hang.
func FuzzClientSession(f *testing.F) {
	resp := seedBlock(":status", "200", "content-length", "2")
	f.Add([]byte{})
	f.Add(seedFrames(appendSettingsAck(nil), appendHeaders(nil, 1, false, true, nil, resp), appendData(nil, 1, true, []byte("ok"))))
	f.Add(seedFrames(appendHeaders(nil, 1, false, true, nil, seedBlock(":status", "103")),
		appendHeaders(nil, 1, false, true, nil, seedBlock(":status", "200")), appendData(nil, 1, false, []byte("x")),
		appendHeaders(nil, 1, true, true, nil, seedBlock("grpc-status", "0"))))
	f.Add(seedFrames(appendRSTStream(nil, 1, ErrCodeRefusedStream)))
	f.Add(seedFrames(appendGoAway(nil, 0, ErrCodeNo, nil)))
	f.Add(seedFrames(appendRaw(nil, FramePushPromise, FlagEndHeaders, 1, append([]byte{0, 0, 0, 2}, seedBlock(getRequest()...)...))))
	f.Add(seedFrames(AppendSettings(nil, Setting{SettingInitialWindowSize, 0}), appendWindowUpdate(nil, 1, 1), AppendPing(nil, false, [8]byte{})))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		c, s := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, s) }()
		opts := &ClientOptions{Options: fuzzOptions}
		sess, err := NewClientSession(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Abort(ErrCodeNo, nil)
		st, err := sess.Request(ctxT(t), post("/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = st.Write([]byte("hi"))
		_ = st.CloseWrite()
		_ = s.SetWriteDeadline(time.Now().Add(fuzzWait))
		_, _ = s.Write(append(AppendSettings(nil), data...))
		st.SetDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := st.Response(ctxT(t)); err == nil {
			_, _ = io.Copy(io.Discard, st)
		}
		_ = s.Close()
		select {
		case <-sess.Done():
		case <-time.After(fuzzWait):
			t.Fatal("the client session did not end after its connection closed")
		}
	})
}
