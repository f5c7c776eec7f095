package h2

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
)

// This file holds the raw-frame test peer: one end of a connection whose
// other end runs a real Session, driven byte by byte with the exported Append*
// encoders so that tests can send exactly what a hostile or buggy peer would.

// waitLong is how long a peer waits for an expected frame. It is generous on
// purpose: tests assert outcomes, not durations, and the machine may be loaded.
const waitLong = 10 * time.Second

// rawFrame is one frame read back from the session under test. For HEADERS
// the decoded header list of the complete block is in Fields (CONTINUATIONs
// are folded into it by the reader).
type rawFrame struct {
	FrameHeader
	Payload []byte
	Fields  Header
}

// code returns the error code of a RST_STREAM or GOAWAY frame.
func (f rawFrame) code() ErrCode {
	switch f.Type {
	case FrameRSTStream:
		if len(f.Payload) == 4 {
			return ErrCode(binary.BigEndian.Uint32(f.Payload))
		}
	case FrameGoAway:
		if len(f.Payload) >= 8 {
			return ErrCode(binary.BigEndian.Uint32(f.Payload[4:]))
		}
	}
	return ^ErrCode(0)
}

// lastStreamID returns the last-stream-id of a GOAWAY frame.
func (f rawFrame) lastStreamID() uint32 {
	return binary.BigEndian.Uint32(f.Payload) & streamIDMask
}

func (f rawFrame) String() string {
	s := fmt.Sprintf("%s stream=%d flags=0x%x len=%d", f.Type, f.StreamID, uint8(f.Flags), f.Length)
	switch f.Type {
	case FrameRSTStream, FrameGoAway:
		s += " code=" + f.code().String()
	}
	if f.Type == FrameGoAway && len(f.Payload) > 8 {
		s += fmt.Sprintf(" debug=%q", f.Payload[8:])
	}
	if f.Fields != nil {
		s += fmt.Sprintf(" fields=%v", f.Fields)
	}
	return s
}

// peer is the hostile (or merely exact) end of a connection to a session.
type peer struct {
	t    testing.TB
	conn net.Conn
	enc  *hpack.Encoder
	ebuf bytes.Buffer
	dec  *hpack.Decoder
	hdr  [frameHeaderLen]byte
	// done is closed when the session under test has ended (ServeConn returned).
	done chan struct{}
	sess *Session // client-side tests: the client session under test

	block     []byte // header block being reassembled from HEADERS + CONTINUATION
	blockHead FrameHeader

	// frames, once startReader ran, receives what a background reader read:
	// the session under test may write synchronously from any goroutine, so
	// a peer that must not stall it reads all the time.
	frames chan rawFrame
	rerr   error // the background reader's final error, valid once frames is closed
}

func newPeer(t testing.TB, c net.Conn) *peer {
	p := &peer{t: t, conn: c, done: make(chan struct{})}
	p.enc = hpack.NewEncoder(&p.ebuf)
	p.dec = hpack.NewDecoder(4096, nil)
	t.Cleanup(func() { _ = c.Close() })
	return p
}

// newServerPeer connects a raw peer to srv over an in-memory pipe. net.Pipe
// has no buffer, so a peer that stops reading blocks the session's writer at
// once: exactly the situation the queued-frame limits are for.
func newServerPeer(t testing.TB, srv *Server) *peer {
	c, s := net.Pipe()
	p := newPeer(t, c)
	go func() {
		defer close(p.done)
		srv.ServeConn(s)
	}()
	return p
}

// newTCPServerPeer connects a raw peer to srv over loopback TCP, where the
// kernel buffers absorb what a slow peer does not read yet.
func newTCPServerPeer(t testing.TB, srv *Server) *peer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := l.Accept(); ch <- res{c, err} }()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	p := newPeer(t, c)
	go func() {
		defer close(p.done)
		srv.ServeConn(r.c)
	}()
	return p
}

// newClientPeer starts a client session over a pipe whose other end is the
// raw peer, playing the server.
func newClientPeer(t testing.TB, opts *ClientOptions) *peer {
	c, s := net.Pipe()
	p := newPeer(t, s)
	sess, err := NewClientSession(c, opts)
	require.NoError(t, err)
	p.sess = sess
	go func() {
		<-sess.Done()
		close(p.done)
	}()
	t.Cleanup(func() {
		// Close our end first: a session whose peer is gone ends at once.
		_ = s.Close()
		sess.Abort(ErrCodeNo, nil)
	})
	return p
}

// openClientRequest starts a client session against a raw peer playing the
// server, sends one request (stream 1, no body) and waits until the peer has
// its headers, for tests of what a server can answer.
func openClientRequest(t *testing.T) (*peer, *Stream) {
	t.Helper()
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	return p, st
}

// write sends raw bytes; it fails the test only when asked to via mustWrite.
func (p *peer) write(b []byte) error {
	_ = p.conn.SetWriteDeadline(time.Now().Add(waitLong))
	_, err := p.conn.Write(b)
	return err
}

func (p *peer) mustWrite(b []byte) {
	p.t.Helper()
	require.NoError(p.t, p.write(b))
}

// encode HPACK-encodes name/value pairs with the peer's encoder.
func (p *peer) encode(kv ...string) []byte {
	if len(kv)%2 != 0 {
		panic("encode: odd number of strings")
	}
	p.ebuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		_ = p.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), p.ebuf.Bytes()...)
}

// getRequest is a minimal valid request header list.
func getRequest(extra ...string) []string {
	return append([]string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "test"}, extra...)
}

// request sends a complete request HEADERS frame on stream id.
func (p *peer) request(id uint32, endStream bool, kv ...string) {
	p.t.Helper()
	if len(kv) == 0 {
		kv = getRequest()
	}
	p.mustWrite(appendHeaders(nil, id, endStream, true, nil, p.encode(kv...)))
}

// startReader makes the peer read continuously in the background (queueing
// up to 64Ki frames), so that it never stalls the session under test.
func (p *peer) startReader() {
	p.frames = make(chan rawFrame, 1<<16)
	go func() {
		defer close(p.frames)
		for {
			f, err := p.readConn(time.Hour)
			if err != nil {
				p.rerr = err
				return
			}
			p.frames <- f
		}
	}()
}

// readFrame returns the next frame within d, from the background reader
// when it runs and from the connection otherwise.
func (p *peer) readFrame(d time.Duration) (rawFrame, error) {
	if p.frames == nil {
		return p.readConn(d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case f, ok := <-p.frames:
		if !ok {
			return rawFrame{}, p.rerr
		}
		return f, nil
	case <-t.C:
		return rawFrame{}, os.ErrDeadlineExceeded
	}
}

// readConn reads one frame within d. HEADERS/CONTINUATION frames always go
// through the peer's HPACK decoder so that its table stays in sync.
func (p *peer) readConn(d time.Duration) (rawFrame, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(d))
	fh, err := ReadFrameHeader(p.conn, &p.hdr)
	if err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{FrameHeader: fh, Payload: make([]byte, fh.Length)}
	if _, err := io.ReadFull(p.conn, f.Payload); err != nil {
		return rawFrame{}, err
	}
	switch fh.Type {
	case FrameHeaders:
		frag, err := stripPadding(fh, f.Payload)
		if err != nil {
			return f, err
		}
		if fh.Flags.Has(FlagPriority) {
			frag = frag[5:]
		}
		p.block, p.blockHead = append(p.block[:0], frag...), fh
	case FrameContinuation:
		p.block = append(p.block, f.Payload...)
	}
	if (fh.Type == FrameHeaders || fh.Type == FrameContinuation) && fh.Flags.Has(FlagEndHeaders) {
		fields, err := p.dec.DecodeFull(p.block)
		if err != nil {
			return f, fmt.Errorf("peer: decoding the session's header block: %w", err)
		}
		f.Fields = make(Header, 0, len(fields))
		for _, hf := range fields {
			f.Fields = append(f.Fields, HeaderField{Name: hf.Name, Value: hf.Value, Sensitive: hf.Sensitive})
		}
		// The complete block is reported on the last frame, with the flags of the first.
		f.StreamID = p.blockHead.StreamID
		f.Flags |= p.blockHead.Flags & FlagEndStream
	}
	return f, nil
}

// expect reads frames until one satisfies match, failing the test on timeout
// or EOF. Frames that do not match are skipped (and returned in seen).
func (p *peer) expect(what string, match func(rawFrame) bool) (got rawFrame, seen []rawFrame) {
	p.t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		f, err := p.readFrame(time.Until(deadline))
		if err != nil {
			p.t.Fatalf("peer: waiting for %s: %v (frames seen: %v)", what, err, seen)
		}
		if match(f) {
			return f, seen
		}
		seen = append(seen, f)
	}
}

// expectGoAway waits for GOAWAY with the given code.
func (p *peer) expectGoAway(code ErrCode) rawFrame {
	p.t.Helper()
	f, seen := p.expect("GOAWAY "+code.String(), func(f rawFrame) bool {
		return f.Type == FrameGoAway && f.code() != ErrCodeNo
	})
	require.Equal(p.t, code, f.code(), "GOAWAY %v (after %v)", f, seen)
	return f
}

// expectRST waits for RST_STREAM on stream id and checks its code.
func (p *peer) expectRST(id uint32, code ErrCode) {
	p.t.Helper()
	f, seen := p.expect(fmt.Sprintf("RST_STREAM on %d", id), func(f rawFrame) bool {
		return f.Type == FrameRSTStream && f.StreamID == id || f.Type == FrameGoAway && f.code() != ErrCodeNo
	})
	require.Equal(p.t, FrameRSTStream, f.Type, "got %v instead (after %v)", f, seen)
	require.Equal(p.t, code, f.code(), "RST_STREAM %v", f)
}

// expectHeaders waits for a complete header block on stream id.
func (p *peer) expectHeaders(id uint32) rawFrame {
	p.t.Helper()
	f, _ := p.expect(fmt.Sprintf("HEADERS on %d", id), func(f rawFrame) bool {
		return f.Fields != nil && f.StreamID == id
	})
	return f
}

// expectClosed reads until the session closes the connection, returning
// everything it sent first.
func (p *peer) expectClosed() []rawFrame {
	p.t.Helper()
	var seen []rawFrame
	deadline := time.Now().Add(waitLong)
	for {
		f, err := p.readFrame(time.Until(deadline))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.t.Fatalf("peer: connection still open after %v; frames: %v", waitLong, seen)
		}
		if err != nil {
			return seen
		}
		seen = append(seen, f)
	}
}

// waitDone waits for the session under test to end.
func (p *peer) waitDone() {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLong):
		p.t.Fatal("peer: the session did not end")
	}
}

// drain reads and discards frames in the background until the connection
// closes, for tests where the session must be able to write.
func (p *peer) drain() <-chan []rawFrame {
	ch := make(chan []rawFrame, 1)
	go func() {
		var seen []rawFrame
		for {
			f, err := p.readFrame(time.Minute)
			if err != nil {
				ch <- seen
				return
			}
			if len(seen) < 1000 {
				seen = append(seen, f)
			}
		}
	}()
	return ch
}

// handshake plays the client side of connection setup: preface and SETTINGS,
// then waits for the server's SETTINGS (acking them) and the ack of ours.
func (p *peer) handshake(settings ...Setting) Settings {
	p.t.Helper()
	p.mustWrite(AppendSettings([]byte(ClientPreface), settings...))
	return p.settleSettings()
}

// serverHandshake plays the server side for a client session under test,
// then keeps reading in the background.
func (p *peer) serverHandshake(settings ...Setting) Settings {
	p.t.Helper()
	s := p.serverHandshakeNoReader(settings...)
	p.startReader()
	return s
}

// serverHandshakeNoReader is serverHandshake for a peer that will stop reading.
func (p *peer) serverHandshakeNoReader(settings ...Setting) Settings {
	p.t.Helper()
	pre := make([]byte, len(ClientPreface))
	_ = p.conn.SetReadDeadline(time.Now().Add(waitLong))
	_, err := io.ReadFull(p.conn, pre)
	require.NoError(p.t, err)
	require.Equal(p.t, ClientPreface, string(pre))
	p.mustWrite(AppendSettings(nil, settings...))
	return p.settleSettings()
}

func (p *peer) settleSettings() Settings {
	p.t.Helper()
	remote := RFCSettings()
	var gotSettings, gotAck bool
	for !gotSettings || !gotAck {
		f, _ := p.expect("SETTINGS", func(f rawFrame) bool { return f.Type == FrameSettings })
		if f.Flags.Has(FlagAck) {
			gotAck = true
			continue
		}
		ps, err := UnpackSettings(f.Payload)
		require.NoError(p.t, err)
		for _, s := range ps {
			remote.apply(s)
		}
		gotSettings = true
		p.mustWrite(appendSettingsAck(nil))
	}
	return remote
}

// TestPeerHandshake checks the peer itself: a plain GET over raw frames gets
// a decoded 200 response, and the session ends cleanly when the peer leaves.
func TestPeerHandshake(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		_ = st.Respond(Header{{Name: ":status", Value: "200"}, {Name: "x-path", Value: st.Path()}}, nil)
		_, _ = io.WriteString(st, "hello")
	})}
	p := newServerPeer(t, srv)
	remote := p.handshake()
	require.Equal(t, DefaultSettings().MaxConcurrentStreams, remote.MaxConcurrentStreams)
	p.request(1, true, getRequest()...)
	h := p.expectHeaders(1)
	require.Equal(t, "200", h.Fields.Get(":status"))
	require.Equal(t, "/", h.Fields.Get("x-path"))
	body := p.body(1)
	require.Equal(t, "hello", string(body))
	require.NoError(t, p.conn.Close())
	p.waitDone()
}

// TestPeerClientHandshake checks the peer playing a server for a client session.
func TestPeerClientHandshake(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, &ClientOptions{Authority: "example"})
	p.serverHandshake(Setting{SettingMaxConcurrentStreams, 7})
	require.Equal(t, uint32(7), p.sess.RemoteSettings().MaxConcurrentStreams)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	st, err := p.sess.Request(ctx, Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/x"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	h := p.expectHeaders(st.ID())
	require.Equal(t, "example", h.Fields.Get(":authority"))
	require.True(t, h.Flags.Has(FlagEndStream))
	require.True(t, strings.HasPrefix(h.Fields[0].Name, ":"))
	p.mustWrite(appendHeaders(nil, st.ID(), true, true, nil, p.encode(":status", "204")))
	resp, err := st.Response(ctx)
	require.NoError(t, err)
	require.Equal(t, "204", resp.Get(":status"))
	frames := p.drain()
	p.sess.Abort(ErrCodeNo, nil)
	p.waitDone()
	last := <-frames
	require.NotEmpty(t, last)
	require.Equal(t, FrameGoAway, last[len(last)-1].Type, "Abort ends with GOAWAY")
}
