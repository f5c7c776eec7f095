package h2

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRequestAbovePeerHeaderListSizeRefusedLocally: a request whose header
// list exceeds the server's MAX_HEADER_LIST_SIZE fails before it is sent.
func TestRequestAbovePeerHeaderListSizeRefusedLocally(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake(Setting{SettingMaxHeaderListSize, 1000})
	_, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"},
		{Name: "x-big", Value: strings.Repeat("b", 2000)}}, &RequestOptions{EndStream: true})
	require.Error(t, err)
	// A small one still goes out, as stream 1: the refused one used no id.
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	require.Equal(t, uint32(1), st.ID())
	p.expectHeaders(1)
}

// TestLowerInitialWindowAppliesAfterAck: after the peer acks our smaller
// INITIAL_WINDOW_SIZE, a stream that sends past it is a FLOW_CONTROL_ERROR.
func TestLowerInitialWindowAppliesAfterAck(t *testing.T) {
	goroutineLeakCheck(t)
	serverSess := make(chan *Session, 1)
	p := newServerPeer(t, &Server{Handler: HandlerFunc(func(st *Stream) { <-st.Context().Done() }),
		OnSession: func(s *Session) { serverSess <- s }})
	p.handshake()
	p.startReader()
	ss := <-serverSess
	done := make(chan error, 1)
	go func() { done <- ss.UpdateSettings(ctxT(t), Settings{InitialWindowSize: 1000}) }()
	f, _ := p.expect("SETTINGS", func(f rawFrame) bool { return f.Type == FrameSettings && !f.Flags.Has(FlagAck) })
	ps, err := UnpackSettings(f.Payload)
	require.NoError(t, err)
	require.Contains(t, ps, Setting{SettingInitialWindowSize, 1000})
	p.mustWrite(appendSettingsAck(nil))
	require.NoError(t, <-done)
	p.request(1, false)
	p.mustWrite(appendData(nil, 1, false, make([]byte, 1000)))
	p.request(3, false)
	p.mustWrite(appendData(nil, 3, false, make([]byte, 1001)))
	p.expectRST(3, ErrCodeFlowControl)
	p.mustWrite(AppendPing(nil, false, [8]byte{1}))
	_, seen := p.expect("PING ack", func(f rawFrame) bool { return f.Type == FramePing && f.Flags.Has(FlagAck) })
	for _, f := range seen {
		require.False(t, f.Type == FrameRSTStream && f.StreamID == 1, "stream 1 stayed within its window: %v", f)
	}
}

// TestRequestPriorityOnTheWire: RequestOptions.Priority goes out in the
// HEADERS frame, and SetPriority sends PRIORITY and PRIORITY_UPDATE; a silent
// SetPriority sends nothing.
func TestRequestPriorityOnTheWire(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}},
		&RequestOptions{EndStream: true, Priority: &Priority{Weight: 200, Parent: 0, Exclusive: true}})
	require.NoError(t, err)
	h := p.expectHeaders(1)
	require.True(t, h.Flags.Has(FlagEndStream))
	require.NoError(t, st.SetPriority(Priority{Weight: 7, Urgency: 3}, true)) // silent
	require.NoError(t, st.SetPriority(Priority{Weight: 42, Urgency: 1, Incremental: true}, false))
	prio, seen := p.expect("PRIORITY", func(f rawFrame) bool { return f.Type == FramePriority })
	for _, f := range seen {
		require.NotEqual(t, FramePriorityUpdate, f.Type, "the silent change sent %v", f)
	}
	require.Equal(t, uint32(1), prio.StreamID)
	require.Equal(t, PriorityParam{Weight: 41}, parsePriority(prio.Payload))
	upd, _ := p.expect("PRIORITY_UPDATE", func(f rawFrame) bool { return f.Type == FramePriorityUpdate })
	require.Equal(t, uint32(0), upd.StreamID)
	require.Equal(t, uint32(1), binary.BigEndian.Uint32(upd.Payload))
	require.Equal(t, "u=1, i", string(upd.Payload[4:]))
}

// TestRequestPriorityFlag checks the priority fields of the HEADERS frame itself.
func TestRequestPriorityFlag(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshakeNoReader()
	_, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}},
		&RequestOptions{EndStream: true, Priority: &Priority{Weight: 200, Exclusive: true}})
	require.NoError(t, err)
	var raw rawFrame
	for {
		f, err := p.readConn(waitLong)
		require.NoError(t, err)
		if f.Type == FrameHeaders {
			raw = f
			break
		}
	}
	require.True(t, raw.Flags.Has(FlagPriority))
	require.Equal(t, PriorityParam{Exclusive: true, Weight: 199}, parsePriority(raw.Payload))
}
