package h2

import (
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
		AppendHeaders(nil, 2, false, true, nil, resp), AppendData(nil, 2, true, []byte("x")),
		AppendHeaders(nil, 1, true, true, nil, resp)))
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 2, false, pushReq[:2]), AppendContinuation(nil, 1, true, pushReq[2:])))
	f.Add(seedFrames(AppendRaw(nil, FramePushPromise, FlagEndHeaders|FlagPadded, 1, append(append([]byte{3, 0, 0, 0, 4}, pushReq...), 0, 0, 0))))
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 2, true, req), appendPushPromiseFrame(nil, 1, 2, true, pushReq)))
	f.Add(seedFrames(appendPushPromiseFrame(nil, 1, 4, true, pushReq), AppendRSTStream(nil, 4, ErrCodeCancel),
		AppendHeaders(nil, 4, true, true, nil, resp)))
	f.Add(seedFrames(AppendRaw(nil, FrameAltSvc, 0, 0, altSvcPayload("https://a", "clear")),
		AppendRaw(nil, FrameAltSvc, 0, 1, altSvcPayload("", `h3=":443"`)), AppendRaw(nil, FrameAltSvc, 0, 0, []byte{0xff, 0xff})))
	f.Add(seedFrames(AppendRaw(nil, FrameOrigin, 0, 0, []byte("\x00\x09https://o\x00\x00")), AppendRaw(nil, FrameOrigin, 0, 3, []byte{0, 1})))
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
