package h2

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPeerHeaderTableSizeHonoured: after the peer sets
// SETTINGS_HEADER_TABLE_SIZE to 0, the next header block we send starts with
// a dynamic table size update to 0 (RFC 7541 §4.2, §6.3) and adds nothing to
// the table.
func TestPeerHeaderTableSizeHonoured(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x-custom", Value: "value-to-index"}}, &RespondOptions{EndStream: true})
	})}
	p := newServerPeer(t, srv)
	p.handshake(Setting{SettingHeaderTableSize, 0})
	p.startReader()
	p.dec.SetAllowedMaxDynamicTableSize(0)
	for id := uint32(1); id <= 3; id += 2 {
		p.request(id, true)
		f := p.expectHeaders(id)
		require.Equal(t, "value-to-index", f.Fields.Get("x-custom"))
		if id == 1 {
			require.Equal(t, byte(0x20), f.Payload[0], "the first block starts with a size update to 0")
		}
	}
}

// TestHeaderBlocksSplitAtPeerFrameSize: response headers larger than the
// peer's MAX_FRAME_SIZE leave as HEADERS plus CONTINUATION frames, none
// larger than it, and DATA frames respect it too.
func TestHeaderBlocksSplitAtPeerFrameSize(t *testing.T) {
	goroutineLeakCheck(t)
	big := strings.Repeat("v", 40000)
	body := bytes.Repeat([]byte{'b'}, 100000)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x-big", Value: big}}, nil)
		_, _ = st.Write(body)
	}), Options: Options{Settings: Settings{MaxHeaderListSize: 1 << 20}}}
	p := newServerPeer(t, srv)
	p.handshake(Setting{SettingMaxHeaderListSize, 1 << 20}, Setting{SettingInitialWindowSize, 1 << 20})
	p.startReader()
	p.mustWrite(appendWindowUpdate(nil, 0, 1<<20))
	p.request(1, true)
	var got []byte
	continuations := 0
	for {
		f, err := p.readFrame(waitLong)
		require.NoError(t, err)
		require.LessOrEqual(t, int(f.Length), 1<<14, "%v exceeds MAX_FRAME_SIZE", f)
		switch f.Type {
		case FrameContinuation:
			continuations++
		case FrameData:
			got = append(got, f.Payload...)
		}
		if f.Fields != nil {
			require.Equal(t, big, f.Fields.Get("x-big"))
		}
		if f.Type == FrameData && f.Flags.Has(FlagEndStream) {
			break
		}
	}
	require.GreaterOrEqual(t, continuations, 2)
	require.Equal(t, body, got)
}

// TestLargerPeerFrameSizeUsed: a peer that allows 64 KiB frames gets DATA
// frames above 16 KiB (fewer headers and turns), never above its limit, and
// the body intact.
func TestLargerPeerFrameSizeUsed(t *testing.T) {
	goroutineLeakCheck(t)
	body := bytes.Repeat([]byte{'b'}, 1<<20)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(nil, nil)
		_, _ = st.Write(body)
	})}
	p := newServerPeer(t, srv)
	p.handshake(Setting{SettingMaxFrameSize, 1 << 16}, Setting{SettingInitialWindowSize, 1 << 30})
	p.startReader()
	p.mustWrite(appendWindowUpdate(nil, 0, 1<<30))
	p.request(1, true)
	var got []byte
	largest := 0
	for len(got) < len(body) {
		f, _ := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData })
		require.LessOrEqual(t, int(f.Length), 1<<16)
		largest = max(largest, int(f.Length))
		got = append(got, f.Payload...)
	}
	require.Equal(t, body, got)
	require.Greater(t, largest, 1<<14)
}

// TestOurMaxFrameSizeApplies: a server that announces a 64 KiB
// MAX_FRAME_SIZE accepts a 40000-byte DATA frame.
func TestOurMaxFrameSizeApplies(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		b, _ := io.ReadAll(st)
		_ = st.Respond(nil, nil)
		_, _ = st.Write([]byte{byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))})
	}), Options: Options{Settings: Settings{MaxFrameSize: 1 << 16}}}
	p := newServerPeer(t, srv)
	remote := p.handshake()
	require.Equal(t, uint32(1<<16), remote.MaxFrameSize)
	p.startReader()
	p.request(1, false, append(getRequest()[:2], ":scheme", "http", ":path", "/big")...)
	p.mustWrite(appendData(nil, 1, true, make([]byte, 40000)))
	f, _ := p.expect("DATA", func(f rawFrame) bool { return f.Type == FrameData && len(f.Payload) == 3 })
	require.Equal(t, []byte{0, 0x9c, 0x40}, f.Payload, "the handler read all 40000 bytes")
}

// TestStreamLifecycle follows one stream's states and the errors of calls
// made in the wrong state.
func TestStreamLifecycle(t *testing.T) {
	goroutineLeakCheck(t)
	type result struct {
		respondTwice, writeAfterClose error
		states                        []string
	}
	res := make(chan result, 1)
	started := make(chan struct{})
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		var r result
		r.states = append(r.states, st.State())
		close(started)
		_, _ = io.ReadAll(st)
		r.states = append(r.states, st.State())
		_ = st.Respond(nil, nil)
		r.respondTwice = st.Respond(nil, nil)
		_ = st.CloseWrite()
		_, r.writeAfterClose = st.Write([]byte("x"))
		res <- r
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	require.Equal(t, "open", st.State())
	_, err = st.Write([]byte("body"))
	require.NoError(t, err)
	<-started
	require.NoError(t, st.CloseWrite())
	require.NoError(t, st.CloseWrite(), "closing twice is harmless")
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	_, err = io.ReadAll(st)
	require.NoError(t, err)
	<-st.Done()
	require.Equal(t, "closed", st.State())
	require.NoError(t, st.Err())
	_, ok := st.ResetCode()
	require.False(t, ok)
	r := <-res
	require.Equal(t, "open", r.states[0])
	require.Equal(t, "half-closed (remote)", r.states[1])
	require.Error(t, r.respondTwice)
	require.ErrorIs(t, r.writeAfterClose, ErrStreamClosed)
	require.NoError(t, st.SetPriority(Priority{Weight: 1, Urgency: 1}, false), "a closed stream's priority is only local")
	require.Error(t, st.SetPriority(Priority{Parent: st.ID()}, true))
	require.Equal(t, 1, st.Priority().Weight)
}

// TestPrioritySignalsReachTheServer: a client's SetPriority sends PRIORITY
// (RFC 7540 fields) and PRIORITY_UPDATE (RFC 9218), and the server's view of
// the stream follows; a "priority" request header sets urgency at once.
func TestPrioritySignalsReachTheServer(t *testing.T) {
	goroutineLeakCheck(t)
	prios := make(chan Priority, 4)
	next := make(chan struct{})
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		prios <- st.Priority()
		<-next
		prios <- st.Priority()
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}, {Name: "priority", Value: "u=1"}},
		&RequestOptions{EndStream: true, Priority: &Priority{Weight: 100}})
	require.NoError(t, err)
	p := <-prios
	require.Equal(t, 1, p.Urgency)
	require.Equal(t, 100, p.Weight)
	require.NoError(t, st.SetPriority(Priority{Weight: 200, Urgency: 5, Incremental: true}, false))
	// A ping round trip orders our PRIORITY frames before the handler looks.
	_, err = c.Ping(ctxT(t), [8]byte{})
	require.NoError(t, err)
	close(next)
	p = <-prios
	require.Equal(t, 200, p.Weight)
	require.Equal(t, 5, p.Urgency)
	require.True(t, p.Incremental)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
}
