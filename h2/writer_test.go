package h2

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// The writer's logic alone (writer.go), on a session that was never
// started: the decisions takeBatchLocked makes, the bound on frames the
// peer provokes, how a header block is cut into frames, and the DATA a
// stream may send. The frames land in s.wbuf, read back by splitFrames.

func writerSession(t *testing.T, opts Options) *Session {
	c, p := net.Pipe()
	t.Cleanup(func() { _ = c.Close(); _ = p.Close() })
	return newSession(c, true, opts)
}

type wroteFrame struct {
	FrameHeader
	payload []byte
}

func splitFrames(t *testing.T, b []byte) []wroteFrame {
	var out []wroteFrame
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), frameHeaderLen)
		fh := parseFrameHeader(b)
		b = b[frameHeaderLen:]
		require.GreaterOrEqual(t, len(b), int(fh.Length))
		out = append(out, wroteFrame{fh, b[:fh.Length]})
		b = b[fh.Length:]
	}
	return out
}

// openStream opens a stream whose HEADERS are out, with body bytes pending.
func openStream(s *Session, id uint32, body []byte) *Stream {
	st := s.newStreamLocked(id, nil)
	st.queued, st.wire = sendHeaders, sendHeaders
	st.zc = body
	return st
}

func TestWriterBatchDecisions(t *testing.T) {
	s := writerSession(t, Options{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote.MaxConcurrentStreams = Unlimited
	hdr := Header{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}}

	sent := s.newStreamLocked(1, nil)
	resetFirst := s.newStreamLocked(3, nil)
	resetFirst.rstSent = true
	s.enqueueLocked(frameReq{kind: reqHeaders, streamID: 1, st: sent, hdr: hdr, endStream: true})
	s.enqueueLocked(frameReq{kind: reqHeaders, streamID: 3, st: resetFirst, hdr: hdr})
	s.enqueueLocked(frameReq{kind: reqRST, streamID: 3, st: resetFirst, code: ErrCodeCancel})
	s.enqueueLocked(frameReq{kind: reqRST, streamID: 1, st: sent, code: ErrCodeCancel})
	s.takeBatchLocked()

	require.True(t, sent.wire.hasHeaders())
	require.True(t, sent.wire.ended(), "END_STREAM on the HEADERS")
	require.Equal(t, stateHalfClosedLocal, sent.state)
	require.Equal(t, []bool{false, true, true, false}, []bool{s.batch[0].skip, s.batch[1].skip, s.batch[2].skip, s.batch[3].skip},
		"a stream reset before its HEADERS left is never heard of: neither its HEADERS nor its RST_STREAM")
	require.False(t, resetFirst.wire.hasHeaders())

	s.mu.Unlock()
	s.encodeBatch()
	s.mu.Lock()
	frames := splitFrames(t, s.wbuf)
	require.Len(t, frames, 2)
	require.Equal(t, FrameHeaders, frames[0].Type)
	require.True(t, frames[0].Flags.Has(FlagEndStream|FlagEndHeaders))
	require.Equal(t, FrameRSTStream, frames[1].Type)
	require.Equal(t, uint32(1), frames[1].StreamID)
	require.Empty(t, s.batch, "the batch is cleared for the next one")
}

func TestWriterPeerProvokedBound(t *testing.T) {
	s := writerSession(t, Options{Limits: Limits{MaxQueuedControlFrames: 2}})
	s.mu.Lock()
	defer s.mu.Unlock()
	require.True(t, s.enqueueLocked(frameReq{kind: reqPingAck}))
	require.True(t, s.enqueueLocked(frameReq{kind: reqSettingsAck}))
	require.True(t, s.enqueueLocked(frameReq{kind: reqPing}), "our own frames do not count")
	s.takeBatchLocked()
	require.Zero(t, s.peerCtrl, "taken by the writer: no longer waiting")
	require.True(t, s.enqueueLocked(frameReq{kind: reqRST, streamID: 1}))
	require.True(t, s.enqueueLocked(frameReq{kind: reqPingAck}))
	require.False(t, s.enqueueLocked(frameReq{kind: reqPingAck}), "the third waiting one is over the bound")
	var ce *ConnError
	require.True(t, errors.As(s.closeErr, &ce))
	require.Equal(t, ErrCodeEnhanceYourCalm, ce.Code)
	require.False(t, s.enqueueLocked(frameReq{kind: reqWindowUpdate, u32: 1}), "nothing more once closing")
	require.Equal(t, reqGoAway, s.ctrl[len(s.ctrl)-1].kind, "but the GOAWAY that says why")
}

func TestWriterHeaderBlockFrames(t *testing.T) {
	s := writerSession(t, Options{})
	var hdr Header
	for _, v := range []string{"a", "bb", "ccc", "dddd", "eeeee"} {
		hdr = append(hdr, HeaderField{Name: "x-" + v, Value: string(bytes.Repeat([]byte(v), 20))})
	}
	prio := &PriorityParam{StreamDep: 0, Weight: 15}
	s.appendHeaderBlock(7, hdr, true, prio, 40)
	frames := splitFrames(t, s.wbuf)
	require.Greater(t, len(frames), 2, "a block longer than a frame")
	var block []byte
	for i, f := range frames {
		require.Equal(t, uint32(7), f.StreamID)
		require.LessOrEqual(t, f.Length, uint32(40), "no frame over the peer's MAX_FRAME_SIZE")
		last := i == len(frames)-1
		require.Equal(t, last, f.Flags.Has(FlagEndHeaders), "END_HEADERS on the last frame only")
		if i == 0 {
			require.Equal(t, FrameHeaders, f.Type)
			require.True(t, f.Flags.Has(FlagEndStream|FlagPriority))
			block = append(block, f.payload[5:]...)
			continue
		}
		require.Equal(t, FrameContinuation, f.Type)
		block = append(block, f.payload...)
	}
	got, err := hpack.NewDecoder(4096, nil).DecodeFull(block)
	require.NoError(t, err)
	require.Len(t, got, len(hdr))
	for i, f := range got {
		require.Equal(t, hdr[i].Name, f.Name)
		require.Equal(t, hdr[i].Value, f.Value)
	}
}

func TestWriterStreamData(t *testing.T) {
	s := writerSession(t, Options{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote.MaxFrameSize = 16384
	s.sendFlow = flow{win: 1 << 20}
	st := openStream(s, 1, bytes.Repeat([]byte("d"), 40000))
	st.sendFlow = sendWindow{win: 30000}
	st.sched.deficit = st.sched.quantum()

	s.writeStreamDataLocked(st)
	frames := splitFrames(t, s.wbuf)
	require.Len(t, frames, 2)
	require.Equal(t, []uint32{16384, 30000 - 16384}, []uint32{frames[0].Length, frames[1].Length},
		"frames up to MAX_FRAME_SIZE, then what the stream window allows")
	require.False(t, frames[1].Flags.Has(FlagEndStream))
	require.Zero(t, st.sendFlow.avail())
	require.Equal(t, int64(1<<20-30000), s.sendFlow.avail(), "the connection window spent as much")
	require.Equal(t, int64(30000), st.stats.bytesSent)

	s.wbuf = s.wbuf[:0]
	st.sendFlow.add(20000)
	st.queued.end()
	st.outTrailers = Header{{Name: "x-t", Value: "1"}}
	s.writeStreamDataLocked(st)
	frames = splitFrames(t, s.wbuf)
	require.Len(t, frames, 2)
	require.Equal(t, FrameData, frames[0].Type)
	require.Equal(t, uint32(10000), frames[0].Length)
	require.False(t, frames[0].Flags.Has(FlagEndStream), "trailers end the stream, not the last DATA")
	require.Equal(t, FrameHeaders, frames[1].Type)
	require.True(t, frames[1].Flags.Has(FlagEndStream|FlagEndHeaders))
	require.True(t, st.wire.ended())
	require.Equal(t, int64(10000), st.sendFlow.avail())
}

// TestWriterPaddingSpendsWindows: padded DATA takes its padding from both
// windows (§6.9.1) and never more than they hold.
func TestWriterPaddingSpendsWindows(t *testing.T) {
	s := writerSession(t, Options{Padding: PadMax})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote.MaxFrameSize = 16384
	s.sendFlow = flow{win: 1000}
	st := openStream(s, 1, []byte("hello"))
	st.sendFlow = sendWindow{win: 100}
	st.queued.end()
	st.sched.deficit = st.sched.quantum()
	s.writeStreamDataLocked(st)
	frames := splitFrames(t, s.wbuf)
	require.Len(t, frames, 1)
	require.True(t, frames[0].Flags.Has(FlagPadded|FlagEndStream))
	require.Equal(t, uint32(100), frames[0].Length, "padded up to the stream window")
	require.Zero(t, st.sendFlow.avail())
	require.Equal(t, int64(900), s.sendFlow.avail())
}
