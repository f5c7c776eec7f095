package h2

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzClientExtensions: a client session that takes pushes, fed arbitrary
// frames by its "server" after a valid SETTINGS frame, with one request in
// flight. Seeds cover PUSH_PROMISE (with CONTINUATION and padding) and the
// pushed stream's response. Every stream must end and the session must not
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
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWatchdog(t)
		goroutineLeakCheck(t)
		c, s := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, s) }()
		opts := &ClientOptions{Options: fuzzOptions}
		opts.Settings.EnablePush = true
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
