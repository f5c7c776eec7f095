package h2

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzClientExtensions: a client session that takes pushes and reports
// ALTSVC and ORIGIN, fed arbitrary frames by its "server" after a valid
// SETTINGS frame, with one request in flight. Seeds cover PUSH_PROMISE (with
// CONTINUATION and padding), the pushed stream's response, ALTSVC and ORIGIN. Every stream must end and the session must not
// hang.
func FuzzClientExtensions(f *testing.F) {
	req := seedBlock(getRequest(":path", "/pushed")...)
	pushReq := seedBlock(":method", "GET", ":scheme", "http", ":path", "/p", ":authority", "a")
	resp := seedBlock(":status", "200")
	f.Add([]byte{})
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 2, true, pushReq),
		appendHeaders(nil, 2, false, true, nil, resp), appendData(nil, 2, true, []byte("x")),
		appendHeaders(nil, 1, true, true, nil, resp)))
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 2, false, pushReq[:2]), appendContinuation(nil, 1, true, pushReq[2:])))
	f.Add(seedFrames(appendRaw(nil, FramePushPromise, FlagEndHeaders|FlagPadded, 1, append(append([]byte{3, 0, 0, 0, 4}, pushReq...), 0, 0, 0))))
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 2, true, req), appendPushPromiseFrame(nil, 1, 2, true, pushReq)))
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 4, true, pushReq), appendRSTStream(nil, 4, ErrCodeCancel),
		appendHeaders(nil, 4, true, true, nil, resp)))
	f.Add(seedFrames(appendRaw(nil, FrameAltSvc, 0, 0, altSvcPayload("https://a", "clear")),
		appendRaw(nil, FrameAltSvc, 0, 1, altSvcPayload("", `h3=":443"`)), appendRaw(nil, FrameAltSvc, 0, 0, []byte{0xff, 0xff})))
	f.Add(seedFrames(appendRaw(nil, FrameOrigin, 0, 0, []byte("\x00\x09https://o\x00\x00")), appendRaw(nil, FrameOrigin, 0, 3, []byte{0, 1})))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		c, s := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, s) }()
		opts := &ClientOptions{Options: fuzzOptions}
		opts.Settings.EnablePush = true
		opts.Hooks.OnAltSvc = func(*Session, string, string, uint32) {}
		opts.Hooks.OnOrigin = func(s *Session, _ []string) { _ = s.OriginSet() }
		opts.Hooks.OnPush = func(_ *Stream, _ Header, st *Stream) {
			st.SetDeadline(time.Now().Add(20 * time.Millisecond))
			go func() {
				if _, err := st.Response(ctxT(t)); err == nil {
					_, _ = io.Copy(io.Discard, st)
				}
			}()
		}
		sess, err := NewClientSession(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Abort(ErrCodeNo, nil)
		st, err := sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
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

// FuzzPadding: whatever a padding strategy answers, a padded frame stays
// within its limit and the 255-byte bound, and what our reader strips from
// it is exactly the data (DATA) or fragment (HEADERS) that went in.
func FuzzPadding(f *testing.F) {
	f.Add(10, 16384, 300, []byte("data"), true)
	f.Add(0, 7, 7, []byte{}, false)
	f.Add(100, 101, -1, []byte("x"), true)
	f.Add(5, 300, 1<<30, []byte("hello"), false)
	f.Fuzz(func(t *testing.T, frameLen, limit, answer int, data []byte, headers bool) {
		if frameLen < 0 || limit < 0 || frameLen > 1<<24 || limit > 1<<24 {
			return
		}
		s := &Session{opts: &Options{Padding: func(int, int) int { return answer }}}
		extra, pad := s.padding(frameLen, limit)
		if extra < 0 || extra > 256 || extra > 0 && (frameLen+extra > limit || pad != extra-1) {
			t.Fatalf("padding(%d, %d) with answer %d = %d, %d", frameLen, limit, answer, extra, pad)
		}
		if len(data) > 1000 {
			data = data[:1000]
		}
		extra, pad = s.padding(len(data), len(data)+300)
		var frame []byte
		if headers {
			frame = appendPaddedHeaders(nil, 1, false, true, nil, data, extra, pad)
		} else {
			frame = appendPaddedData(nil, 1, false, data, extra, pad)
		}
		fh := parseFrameHeader(frame)
		if int(fh.Length) != len(data)+extra || fh.Flags.Has(FlagPadded) != (extra > 0) {
			t.Fatalf("frame length %d flags %x for %d bytes, extra %d", fh.Length, fh.Flags, len(data), extra)
		}
		got, err := stripPadding(fh, frame[frameHeaderLen:])
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("stripped %q, %v; want %q", got, err, data)
		}
	})
}

// FuzzSettingsRoundTrip: any SETTINGS payload that unpacks, applied to an
// empty Settings, packs back to the same parameters (the last value of
// each, known ones in wire order, unknown ones after) and unpacks again.
func FuzzSettingsRoundTrip(f *testing.F) {
	f.Add(DefaultSettings().Pack())
	f.Add(Settings{}.With(SettingMaxConcurrentStreams, 0).With(0xf0, 7).Pack())
	f.Add([]byte{0, 0x99, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 6*200 {
			payload = payload[:6*200]
		}
		ps, err := UnpackSettings(payload)
		if err != nil {
			return
		}
		var s Settings
		last := map[SettingID]uint32{}
		for _, p := range ps {
			s.apply(p)
			last[p.ID] = p.Val
		}
		back, err := UnpackSettings(s.Pack())
		if err != nil {
			t.Fatalf("repacked settings do not unpack: %v", err)
		}
		for _, p := range back {
			if v, ok := last[p.ID]; !ok || v != p.Val && !(p.ID == SettingEnablePush || p.ID == SettingEnableConnectProtocol || p.ID == SettingNoRFC7540Priorities) {
				t.Fatalf("%s=%d packed, received %d (%t)", p.ID, p.Val, v, ok)
			}
		}
		if !s.Equal(s.merged(Settings{})) {
			t.Fatal("merging nothing changed the settings")
		}
	})
}

// FuzzServerExtensions: a server session (extended CONNECT enabled, padding
// its answers) fed arbitrary bytes after the preface, seeded with what the
// extensions add on the way in: ALTSVC and ORIGIN (ignored by servers), a
// client's PUSH_PROMISE (a connection error), an extended CONNECT, padded
// HEADERS and DATA, SETTINGS with custom and zero values.
func FuzzServerExtensions(f *testing.F) {
	req := seedBlock(getRequest()...)
	ws := seedBlock(":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a")
	f.Add(seedFrames(AppendSettings(nil), appendRaw(nil, FrameAltSvc, 0, 0, altSvcPayload("https://a", "clear")),
		appendRaw(nil, FrameOrigin, 0, 0, []byte("\x00\x09https://o")), appendHeaders(nil, 1, true, true, nil, req)))
	f.Add(seedFrames(AppendSettings(nil), appendHeaders(nil, 1, false, true, nil, req), appendPushPromiseFrame(nil, 1, 2, true, req)))
	f.Add(seedFrames(AppendSettings(nil), appendHeaders(nil, 1, false, true, nil, ws), appendData(nil, 1, true, []byte("tunnel"))))
	f.Add(seedFrames(AppendSettings(nil), appendPaddedHeaders(nil, 1, false, true, nil, req, 9, 8),
		appendPaddedData(nil, 1, true, []byte("body"), 256, 255)))
	f.Add(seedFrames(AppendSettings(nil, Setting{SettingMaxConcurrentStreams, 0}, Setting{SettingInitialWindowSize, 0},
		Setting{0xf0, 1}, Setting{SettingEnableConnectProtocol, 1}), AppendSettings(nil, Setting{SettingEnableConnectProtocol, 0})))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		opts := fuzzOptions
		opts.Settings.EnableConnectProtocol = true
		opts.Padding = PadAligned
		srv := &Server{Handler: fuzzHandler, Options: opts}
		c, s := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(s)
		}()
		go func() { _, _ = io.Copy(io.Discard, c) }()
		_ = c.SetWriteDeadline(time.Now().Add(fuzzWait))
		_, _ = c.Write(append([]byte(ClientPreface), data...))
		_ = c.Close()
		select {
		case <-done:
		case <-time.After(fuzzWait):
			t.Fatal("the session did not end after its connection closed")
		}
	})
}
