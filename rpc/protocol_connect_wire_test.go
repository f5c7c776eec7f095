package rpc

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// wireFrame is one frame as a connection carried it: what the wire-shape
// tests compare. Header blocks are kept as the names of their fields.
type wireFrame struct {
	typ    h2.FrameType
	flags  byte
	length int
	names  string // a HEADERS frame's field names, sorted, comma-separated
}

func (f wireFrame) String() string {
	if f.names != "" {
		return fmt.Sprintf("type %d flags %#x [%s]", f.typ, f.flags, f.names)
	}
	return fmt.Sprintf("type %d flags %#x", f.typ, f.flags)
}

// frameRecorder parses the bytes of one direction of a connection into
// frames, decoding header blocks with a decoder of its own (the HPACK
// state of that direction).
type frameRecorder struct {
	mu      sync.Mutex
	frames  []wireFrame
	pending []byte
	preface bool // the client's preface is still to be skipped
	dec     *hpack.Decoder
}

func newFrameRecorder(client bool) *frameRecorder {
	return &frameRecorder{preface: client, dec: hpack.NewDecoder(64<<10, nil)}
}

func (r *frameRecorder) add(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, p...)
	if r.preface {
		if len(r.pending) < len(h2.ClientPreface) {
			return
		}
		r.pending = r.pending[len(h2.ClientPreface):]
		r.preface = false
	}
	for len(r.pending) >= 9 {
		n := int(r.pending[0])<<16 | int(r.pending[1])<<8 | int(r.pending[2])
		if len(r.pending) < 9+n {
			return
		}
		f := wireFrame{typ: h2.FrameType(r.pending[3]), flags: r.pending[4], length: n}
		if f.typ == h2.FrameHeaders {
			// The tests' frames have neither padding nor priority.
			fields, err := r.dec.DecodeFull(r.pending[9 : 9+n])
			if err != nil {
				panic(err)
			}
			names := make([]string, 0, len(fields))
			for _, hf := range fields {
				names = append(names, hf.Name)
			}
			sort.Strings(names)
			f.names = strings.Join(names, ",")
		}
		r.frames = append(r.frames, f)
		r.pending = r.pending[9+n:]
	}
}

// since returns the frames recorded after the first n.
func (r *frameRecorder) since(n int) []wireFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wireFrame(nil), r.frames[n:]...)
}

func (r *frameRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// recordedConn records what a client connection writes (sent) and reads
// (received).
type recordedConn struct {
	net.Conn
	sent, received *frameRecorder
}

func (c recordedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.received.add(p[:n])
	return n, err
}

func (c recordedConn) Write(p []byte) (int, error) {
	c.sent.add(p)
	return c.Conn.Write(p)
}

// connectUnaryWire makes calls Connect unary calls over h2c on a warm
// connection, with the JSON codec or the proto one, and returns the frames
// they made each way and the largest request body.
func connectUnaryWire(t *testing.T, json bool, msg string, calls int) (sent, received []wireFrame, maxBody int) {
	sentRec, recvRec := newFrameRecorder(true), newFrameRecorder(false)
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return recordedConn{Conn: c, sent: sentRec, received: recvRec}, nil
	}
	opts := []DialOption{WithContextDialer(dial), WithProtocol(ProtocolConnect)}
	if json {
		opts = append(opts, WithProtoJSON())
	}
	e := newEnv(t, true, nil, opts...)
	ctx := ctxTimeout(t, 10*time.Second)
	call := func() {
		out := new(wrapperspb.StringValue)
		require.NoError(t, e.cc.Invoke(ctx, "/test.Echo/Echo", wrapperspb.String(msg), out))
		require.Equal(t, msg, out.GetValue())
	}
	// The first call's frames are the connection's (SETTINGS, their acks)
	// and its header fields' first, literal encoding.
	call()
	call()
	s0, r0 := sentRec.count(), recvRec.count()
	for range calls {
		call()
	}
	sent, received = sentRec.since(s0), recvRec.since(r0)
	for _, f := range sent {
		if f.typ == h2.FrameData {
			maxBody = max(maxBody, f.length)
		}
	}
	return sent, received, maxBody
}

// withoutLengths is frames with their lengths left out: JSON and proto
// bodies differ in size, not in shape.
func withoutLengths(frames []wireFrame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = f.String()
	}
	return out
}

// TestConnectUnaryJSONWireShapeMatchesProto: over h2c a Connect unary call
// with the JSON codec makes exactly the frames a proto one makes, each way:
// the request's HEADERS (with content-length) and one DATA frame that ends
// the stream, the response's HEADERS and one DATA frame that ends it, the
// same header fields, and nothing else (no empty DATA frame carrying
// END_STREAM, no body split over frames, no WINDOW_UPDATE or PING). The
// messages are chosen so that the JSON body (a string with escapes) is over
// 128 bytes and the proto one under, as in the benchmarks, where a JSON call
// over h2c cost far more CPU than a proto one beyond protojson's own work
// (docs/benchmarks.md, issue 16): that difference is not on the wire.
func TestConnectUnaryJSONWireShapeMatchesProto(t *testing.T) {
	checkNoLeaks(t)
	msg := strings.Repeat("ab\"\n", 25) // 100 bytes: 102 in proto, 152 in JSON
	const calls = 20
	protoSent, protoReceived, protoBody := connectUnaryWire(t, false, msg, calls)
	jsonSent, jsonReceived, jsonBody := connectUnaryWire(t, true, msg, calls)
	require.Less(t, protoBody, 128)
	require.Greater(t, jsonBody, 128)

	require.Len(t, protoSent, 2*calls, "request frames: %v", protoSent)
	require.Len(t, protoReceived, 2*calls, "response frames: %v", protoReceived)
	for i := 0; i < 2*calls; i += 2 {
		require.Equal(t, h2.FrameHeaders, protoSent[i].typ)
		require.Contains(t, ","+protoSent[i].names+",", ",content-length,")
		require.Equal(t, h2.FrameData, protoSent[i+1].typ)
		require.Equal(t, byte(h2.FlagEndStream), protoSent[i+1].flags)
		require.Equal(t, h2.FrameHeaders, protoReceived[i].typ)
		require.Equal(t, h2.FrameData, protoReceived[i+1].typ)
		require.Equal(t, byte(h2.FlagEndStream), protoReceived[i+1].flags)
	}
	require.Equal(t, withoutLengths(protoSent), withoutLengths(jsonSent), "requests")
	require.Equal(t, withoutLengths(protoReceived), withoutLengths(jsonReceived), "responses")
}
