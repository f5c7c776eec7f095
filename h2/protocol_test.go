package h2

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// protocolHandler holds "/hold" streams open until they are reset, and
// echoes everything else.
var protocolHandler = HandlerFunc(func(st *Stream) {
	if st.Path() == "/hold" {
		<-st.Context().Done()
		return
	}
	okHandler(st)
})

func hold(extra ...string) []string {
	return append([]string{":method", "POST", ":scheme", "http", ":path", "/hold", ":authority", "t"}, extra...)
}

// outcome is what the session must answer: GOAWAY with a code, RST_STREAM on
// a stream with a code, or nothing (the frames are ignored and the session
// answers a PING afterwards without resetting anything).
type outcome struct {
	goAway ErrCode
	rst    uint32
	code   ErrCode
	ignore bool
}

func connError(code ErrCode) outcome           { return outcome{goAway: code} }
func streamError(id uint32, c ErrCode) outcome { return outcome{rst: id, code: c} }

var ignored = outcome{ignore: true}

// TestProtocolErrors plays RFC 9113 violations and oddities at a server
// session and checks the exact answer each calls for.
func TestProtocolErrors(t *testing.T) {
	padded := func(id uint32, end bool, pad int, data []byte) []byte {
		f := Flags(FlagPadded)
		if end {
			f |= FlagEndStream
		}
		return appendRaw(nil, FrameData, f, id, append(append([]byte{byte(pad)}, data...), make([]byte, pad)...))
	}
	cases := []struct {
		name   string
		frames func(p *peer) [][]byte
		want   outcome
	}{
		// §5.1: frames on idle streams.
		{"DATA on idle stream", func(p *peer) [][]byte { return [][]byte{appendData(nil, 1, true, []byte("x"))} }, connError(ErrCodeProtocol)},
		{"WINDOW_UPDATE on idle stream", func(p *peer) [][]byte { return [][]byte{appendWindowUpdate(nil, 1, 1)} }, connError(ErrCodeProtocol)},
		{"RST_STREAM on idle stream", func(p *peer) [][]byte { return [][]byte{appendRSTStream(nil, 1, ErrCodeCancel)} }, connError(ErrCodeProtocol)},
		{"PRIORITY on idle stream", func(p *peer) [][]byte {
			return [][]byte{appendPriority(nil, 9, PriorityParam{StreamDep: 1, Weight: 3})}
		}, ignored},
		{"HEADERS on server stream 2", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 2, true, true, nil, p.encode(getRequest()...))}
		}, connError(ErrCodeProtocol)},
		// §5.1: half-closed (remote) and closed streams.
		{"DATA after END_STREAM", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, p.encode(hold()...)), appendData(nil, 1, false, []byte("late"))}
		}, streamError(1, ErrCodeStreamClosed)},
		{"RST_STREAM then WINDOW_UPDATE and PRIORITY", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)), appendRSTStream(nil, 1, ErrCodeCancel),
				appendWindowUpdate(nil, 1, 10), appendPriority(nil, 1, PriorityParam{StreamDep: 0, Weight: 9})}
		}, ignored},
		// §6: frame-specific rules.
		{"HEADERS on stream 0", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 0, true, true, nil, p.encode(getRequest()...))}
		}, connError(ErrCodeProtocol)},
		{"DATA on stream 0", func(p *peer) [][]byte { return [][]byte{appendData(nil, 0, false, []byte("x"))} }, connError(ErrCodeProtocol)},
		{"padding longer than payload", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)),
				appendRaw(nil, FrameData, FlagPadded, 1, []byte{5, 'a'})}
		}, connError(ErrCodeProtocol)},
		{"PRIORITY depending on itself", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)), appendPriority(nil, 1, PriorityParam{StreamDep: 1})}
		}, streamError(1, ErrCodeProtocol)},
		{"HEADERS depending on itself", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, &PriorityParam{StreamDep: 1}, p.encode(getRequest()...))}
		}, streamError(1, ErrCodeProtocol)},
		{"PRIORITY of length 4", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)), appendRaw(nil, FramePriority, 0, 1, []byte{0, 0, 0, 0})}
		}, streamError(1, ErrCodeFrameSize)},
		{"RST_STREAM on stream 0", func(p *peer) [][]byte { return [][]byte{appendRSTStream(nil, 0, ErrCodeCancel)} }, connError(ErrCodeProtocol)},
		{"RST_STREAM of length 3", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)), appendRaw(nil, FrameRSTStream, 0, 1, []byte{0, 0, 8})}
		}, connError(ErrCodeFrameSize)},
		{"SETTINGS on stream 1", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FrameSettings, 0, 1, nil)} }, connError(ErrCodeProtocol)},
		{"SETTINGS of length 5", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FrameSettings, 0, 0, make([]byte, 5))} }, connError(ErrCodeFrameSize)},
		{"SETTINGS ack with payload", func(p *peer) [][]byte {
			return [][]byte{appendRaw(nil, FrameSettings, FlagAck, 0, make([]byte, 6))}
		}, connError(ErrCodeFrameSize)},
		{"SETTINGS ENABLE_PUSH 2", func(p *peer) [][]byte { return [][]byte{AppendSettings(nil, Setting{SettingEnablePush, 2})} }, connError(ErrCodeProtocol)},
		{"SETTINGS window above 2^31-1", func(p *peer) [][]byte {
			return [][]byte{AppendSettings(nil, Setting{SettingInitialWindowSize, 1 << 31})}
		}, connError(ErrCodeFlowControl)},
		{"SETTINGS frame size too small", func(p *peer) [][]byte {
			return [][]byte{AppendSettings(nil, Setting{SettingMaxFrameSize, 100})}
		}, connError(ErrCodeProtocol)},
		{"SETTINGS unknown identifier", func(p *peer) [][]byte { return [][]byte{AppendSettings(nil, Setting{0xff, 7})} }, ignored},
		{"PUSH_PROMISE from a client", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)),
				appendRaw(nil, FramePushPromise, FlagEndHeaders, 1, append([]byte{0, 0, 0, 2}, p.encode(getRequest()...)...))}
		}, connError(ErrCodeProtocol)},
		{"PING on stream 1", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FramePing, 0, 1, make([]byte, 8))} }, connError(ErrCodeProtocol)},
		{"PING of length 7", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FramePing, 0, 0, make([]byte, 7))} }, connError(ErrCodeFrameSize)},
		{"PING with unknown flags", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FramePing, 0xfe, 0, make([]byte, 8))} }, ignored},
		{"GOAWAY on stream 1", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FrameGoAway, 0, 1, make([]byte, 8))} }, connError(ErrCodeProtocol)},
		{"WINDOW_UPDATE of length 3", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FrameWindowUpdate, 0, 0, []byte{0, 0, 1})} }, connError(ErrCodeFrameSize)},
		{"WINDOW_UPDATE of 0 on the connection", func(p *peer) [][]byte { return [][]byte{appendWindowUpdate(nil, 0, 0)} }, connError(ErrCodeProtocol)},
		{"frame above MAX_FRAME_SIZE", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)), appendData(nil, 1, false, make([]byte, 1<<14+1))}
		}, connError(ErrCodeFrameSize)},
		{"unknown frame type", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, 0xfa, 0xff, 1, []byte("ext"))} }, ignored},
		{"PRIORITY_UPDATE on a stream", func(p *peer) [][]byte { return [][]byte{appendRaw(nil, FramePriorityUpdate, 0, 1, []byte{0, 0, 0, 1})} }, connError(ErrCodeProtocol)},
		// §6.10: header blocks are contiguous.
		{"PING inside a header block", func(p *peer) [][]byte {
			b := p.encode(getRequest()...)
			return [][]byte{appendHeaders(nil, 1, true, false, nil, b[:1]), AppendPing(nil, false, [8]byte{})}
		}, connError(ErrCodeProtocol)},
		{"CONTINUATION on another stream", func(p *peer) [][]byte {
			b := p.encode(getRequest()...)
			return [][]byte{appendHeaders(nil, 1, true, false, nil, b[:1]), appendContinuation(nil, 3, true, b[1:])}
		}, connError(ErrCodeProtocol)},
		{"CONTINUATION without HEADERS", func(p *peer) [][]byte { return [][]byte{appendContinuation(nil, 1, true, []byte{0x82})} }, connError(ErrCodeProtocol)},
		{"invalid HPACK", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, []byte{0xff, 0xff, 0xff, 0xff, 0xff})}
		}, connError(ErrCodeCompression)},
		// §8.1 and §8.2: malformed messages are stream errors.
		{"uppercase field name", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, p.encode(getRequest("X-Up", "1")...))}
		}, streamError(1, ErrCodeProtocol)},
		{"connection header", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, p.encode(getRequest("connection", "keep-alive")...))}
		}, streamError(1, ErrCodeProtocol)},
		{"te gzip", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, p.encode(getRequest("te", "gzip")...))}
		}, streamError(1, ErrCodeProtocol)},
		{"missing :path", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, p.encode(":method", "GET", ":scheme", "http"))}
		}, streamError(1, ErrCodeProtocol)},
		{"body shorter than content-length", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(getRequest("content-length", "5")...)),
				appendData(nil, 1, true, []byte("abc"))}
		}, streamError(1, ErrCodeProtocol)},
		{"body longer than content-length", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(getRequest("content-length", "2")...)),
				appendData(nil, 1, false, []byte("abc"))}
		}, streamError(1, ErrCodeProtocol)},
		{"END_STREAM with content-length", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, true, true, nil, p.encode(getRequest("content-length", "5")...))}
		}, streamError(1, ErrCodeProtocol)},
		{"trailers without END_STREAM", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)),
				appendHeaders(nil, 1, false, true, nil, p.encode("x-t", "1"))}
		}, streamError(1, ErrCodeProtocol)},
		{"pseudo-header in trailers", func(p *peer) [][]byte {
			return [][]byte{appendHeaders(nil, 1, false, true, nil, p.encode(hold()...)),
				appendHeaders(nil, 1, true, true, nil, p.encode(":status", "200"))}
		}, streamError(1, ErrCodeProtocol)},
		{"padded DATA and HEADERS are fine", func(p *peer) [][]byte {
			b := p.encode(getRequest()...)
			h := appendRaw(nil, FrameHeaders, FlagEndHeaders|FlagPadded, 1, append(append([]byte{3}, b...), 0, 0, 0))
			return [][]byte{h, padded(1, false, 10, []byte("ab")), padded(1, true, 0, nil)}
		}, ignored},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			goroutineLeakCheck(t)
			p := newServerPeer(t, &Server{Handler: protocolHandler})
			p.handshake()
			p.startReader()
			if err := p.write(bytes.Join(c.frames(p), nil)); err != nil && (c.want.ignore || c.want.rst != 0) {
				// A connection error may end the session before it has read
				// all of the frames (net.Pipe has no buffer): only then may
				// the write fail.
				require.NoError(t, err)
			}
			switch {
			case c.want.ignore:
				p.mustWrite(AppendPing(nil, false, [8]byte{'o', 'k'}))
				_, seen := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
				for _, f := range seen {
					require.NotEqual(t, FrameGoAway, f.Type, "got %v", f)
					require.False(t, f.Type == FrameRSTStream && f.code() != ErrCodeCancel, "got %v", f)
				}
			case c.want.rst != 0:
				p.expectRST(c.want.rst, c.want.code)
				// A stream error leaves the session usable.
				p.mustWrite(AppendPing(nil, false, [8]byte{'o', 'k'}))
				_, seen := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
				for _, f := range seen {
					require.NotEqual(t, FrameGoAway, f.Type, "got %v", f)
				}
			default:
				p.expectGoAway(c.want.goAway)
				p.expectClosed()
				p.waitDone()
			}
		})
	}
}

// TestLowerStreamIDIsProtocolError: RFC 9113 §5.1.1, a new stream id lower
// than one the client already used is a connection error PROTOCOL_ERROR.
func TestLowerStreamIDIsProtocolError(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: protocolHandler})
	p.handshake()
	p.startReader()
	p.request(5, false, hold()...)
	p.request(3, true)
	p.expectGoAway(ErrCodeProtocol)
	p.waitDone()
}

// TestHeadersOnClosedStream: HEADERS on a stream that was opened and closed
// normally is a connection error STREAM_CLOSED (RFC 9113 §5.1, "closed").
func TestHeadersOnClosedStream(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: protocolHandler})
	p.handshake()
	p.startReader()
	p.request(1, true)
	p.expect("end of stream 1", func(f rawFrame) bool { return f.StreamID == 1 && f.Flags.Has(FlagEndStream) })
	p.request(1, false)
	p.expectGoAway(ErrCodeStreamClosed)
	p.waitDone()
}

// TestClientRejectsBadServer plays a misbehaving server at a client session.
func TestClientRejectsBadServer(t *testing.T) {
	t.Run("PUSH_PROMISE with push disabled", func(t *testing.T) {
		p, _ := openClientRequest(t)
		p.mustWrite(appendRaw(nil, FramePushPromise, FlagEndHeaders, 1, append([]byte{0, 0, 0, 2}, p.encode(getRequest()...)...)))
		p.expectGoAway(ErrCodeProtocol)
		p.waitDone()
	})
	t.Run("response without :status", func(t *testing.T) {
		p, st := openClientRequest(t)
		p.mustWrite(appendHeaders(nil, 1, true, true, nil, p.encode("content-type", "x")))
		p.expectRST(1, ErrCodeProtocol)
		_, err := st.Response(ctxT(t))
		var se *StreamError
		require.ErrorAs(t, err, &se)
		require.Equal(t, ErrCodeProtocol, se.Code)
		require.False(t, se.Remote)
	})
	t.Run("1xx with END_STREAM", func(t *testing.T) {
		p, _ := openClientRequest(t)
		p.mustWrite(appendHeaders(nil, 1, true, true, nil, p.encode(":status", "103")))
		p.expectRST(1, ErrCodeProtocol)
	})
	t.Run("body longer than content-length", func(t *testing.T) {
		p, st := openClientRequest(t)
		p.mustWrite(appendHeaders(nil, 1, false, true, nil, p.encode(":status", "200", "content-length", "1")))
		p.mustWrite(appendData(nil, 1, true, []byte("toolong")))
		p.expectRST(1, ErrCodeProtocol)
		_, err := st.Response(ctxT(t))
		require.NoError(t, err)
		_, err = st.Read(make([]byte, 100))
		var se *StreamError
		require.ErrorAs(t, err, &se)
	})
	t.Run("server opens a stream", func(t *testing.T) {
		p, _ := openClientRequest(t)
		p.mustWrite(appendHeaders(nil, 2, true, true, nil, p.encode(":status", "200")))
		p.expectGoAway(ErrCodeProtocol)
	})
	t.Run("DATA before HEADERS", func(t *testing.T) {
		p, _ := openClientRequest(t)
		p.mustWrite(appendData(nil, 1, true, []byte("x")))
		p.expectRST(1, ErrCodeProtocol)
	})
}
