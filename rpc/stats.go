package rpc

import (
	"context"
	"io"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// RPCStats describe one finished call, on either side, with what only the
// transport knows: sizes on the wire (after compression and framing), the
// time to the first byte and the connection's ping round trip.
type RPCStats struct {
	FullMethod      string // "/pkg.Service/Method"
	Client          bool   // reported by a ClientConn, not a Server
	Begin, End      time.Time
	Code            codes.Code
	WireBytesSent   int64 // DATA payload bytes: 5-byte prefixes and compressed messages
	WireBytesRecv   int64
	MsgsSent        int
	MsgsRecv        int
	TimeToFirstByte time.Duration // from opening the stream to the peer's first DATA byte; 0 if none came
	StreamDuration  time.Duration // how long the HTTP/2 stream was open (so far, if the peer has not ended it)
	PingRTT         time.Duration // the connection's last measured ping round trip; 0 if none yet
	Peer            *Peer
	// UnknownMethod is set on the server for a call to a method no service
	// registered. Its FullMethod is whatever the peer sent, so anything that
	// keys series or tables by method should fold these into one bucket
	// (gRFC A66 names it "other"): peers choose those names, not the API.
	UnknownMethod bool
}

// StatsHandler observes calls. TagRPC runs when a call begins (on the server
// before the handler, on the client before the request headers are built);
// the context it returns is the call's from then on, so it can carry what
// HandleRPC needs. HandleRPC runs once when the call ends: on the server
// when the HTTP/2 stream has closed after the status (from a goroutine of
// its own unless it already had), on the client when the outcome is known
// (a unary call returned, a stream's RecvMsg returned its final error, or
// the stream's context ended first).
// Keep them quick: they run on the call's path. A server's timings start
// when its handler goroutine takes the call up.
type StatsHandler interface {
	TagRPC(ctx context.Context, fullMethod string) context.Context
	HandleRPC(ctx context.Context, s *RPCStats)
}

// StatsHandlerOption makes the server report every call to h.
func StatsHandlerOption(h StatsHandler) ServerOption {
	return func(o *serverOptions) { o.stats, o.hooks = h, hooksOf(h) }
}

// WithStatsHandler makes the client report every call to h.
func WithStatsHandler(h StatsHandler) DialOption {
	return func(c *clientConfig) { c.stats, c.hooks = h, hooksOf(h) }
}

// fillFromStream copies the transport's figures for st into s.
func (s *RPCStats) fillFromStream(st *h2.Stream) {
	if st == nil {
		return
	}
	ss := st.Stats()
	s.WireBytesSent = ss.BytesSent
	s.WireBytesRecv = ss.BytesReceived
	s.TimeToFirstByte = ss.TimeToFirstByte()
	s.StreamDuration = ss.Duration()
	if sess := st.Session(); sess != nil {
		s.PingRTT = sess.Stats().LastPingRTT
		s.Peer = peerOf(sess)
	}
}

// codeOf is the status code a call's final error stands for; io.EOF is how
// a client stream reports OK.
func codeOf(err error) codes.Code {
	if err == nil || err == io.EOF {
		return codes.OK
	}
	return status.Code(err)
}
