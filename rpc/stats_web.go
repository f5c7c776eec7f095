package rpc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Stats of gRPC-Web and Connect calls (httpStream): the same events and
// end report as a gRPC call's (stats_events.go, clientStream.reportStats),
// from the steps both HTTP protocols share, whatever carries them. Without
// a StatsHandler each hook costs one nil check.

// webStats is what a call over HTTP keeps for its StatsHandler.
type webStats struct {
	sh       StatsHandler
	begin    time.Time
	done     atomic.Bool  // the end was reported
	sentN    atomic.Int32 // request messages handed to the transport
	recvN    atomic.Int32
	wireSent atomic.Int64 // request body bytes, for transports without an h2 stream's figures
	wireRecv atomic.Int64
	// The connection the request went on, when the transport knows it,
	// and the HTTP/2 stream on the client's own sessions: set as the
	// request goes, read by a report that may run on another goroutine
	// (watchCancel).
	peer   atomic.Pointer[Peer]
	st     atomic.Pointer[h2.Stream]
	outMsg any         // the one request message of a body sent whole, reported when it goes
	stop   func() bool // unregisters watchCancel's report once the call has ended
}

// tagStats begins the call's stats on the client's handler, if any, and
// returns the context TagRPC gave.
func (hs *httpStream) tagStats(ctx context.Context) context.Context {
	h := hs.hc.cc.cfg.stats
	if h == nil {
		return ctx
	}
	hs.stats.sh, hs.stats.begin = h, time.Now()
	ctx = h.TagRPC(ctx, hs.method)
	hs.ctx = ctx
	if hs.hc.cc.cfg.hooks.events != nil {
		hs.event(RPCEvent{Kind: EventBegin, ClientStream: hs.desc.ClientStreams, ServerStream: hs.desc.ServerStreams,
			Target: hs.hc.cc.target, Authority: hs.hc.cc.authority})
	}
	return ctx
}

func (hs *httpStream) event(ev RPCEvent) {
	ev.Client, ev.FullMethod, ev.Time = true, hs.method, time.Now()
	hs.hc.cc.cfg.hooks.events.HandleRPCEvent(hs.ctx, ev)
}

// evRequestSent reports the request header going out on a connection to p
// (nil when the transport does not say) as the HTTP/2 stream st (nil on
// other transports), and with it the request message of a body sent whole.
func (hs *httpStream) evRequestSent(p *Peer, st *h2.Stream) {
	if hs.stats.sh == nil {
		return
	}
	hs.stats.peer.Store(p)
	hs.stats.st.Store(st)
	if hs.hc.cc.cfg.hooks.events != nil {
		md, _ := metadata.FromOutgoingContext(hs.ctx)
		hs.event(RPCEvent{Kind: EventOutHeader, Header: md, Authority: hs.hc.cc.authority,
			Compression: compressionName(hs.comp), Peer: p})
	}
	if hs.desc.ClientStreams || hs.sentN == 0 {
		return // streamed messages are reported as SendMsg writes them
	}
	hs.evOutPayload(hs.stats.outMsg, hs.body)
	hs.stats.outMsg = nil
}

// evOutPayload reports the request message m, enveloped in env.
func (hs *httpStream) evOutPayload(m any, env []byte) {
	if hs.stats.sh == nil {
		return
	}
	wire := len(env) // a Connect unary body is the bare message: counted as enveloped, as everywhere (RPCEvent.WireLength)
	hs.stats.sentN.Add(1)
	hs.stats.wireSent.Add(int64(wire))
	if hs.hc.cc.cfg.hooks.events != nil {
		hs.event(RPCEvent{Kind: EventOutPayload, Payload: m, WireLength: wire,
			Length: messageLen(hs.codec, hs.comp, m, len(env))})
	}
}

// evInHeader reports the response header the protocol accepted.
func (hs *httpStream) evInHeader() {
	if hs.hc.cc.cfg.hooks.events != nil {
		hs.event(RPCEvent{Kind: EventInHeader, Header: hs.header, Compression: compressionName(hs.er.decomp), Peer: hs.stats.peer.Load()})
	}
}

// evInPayload reports the response message m, plain bytes once decoded,
// wire bytes enveloped as read (a Connect unary body in the envelope it is
// read into: see evOutPayload).
func (hs *httpStream) evInPayload(m any, plain, wire int) {
	if hs.stats.sh == nil {
		return
	}
	hs.stats.recvN.Add(1)
	hs.stats.wireRecv.Add(int64(wire))
	if hs.hc.cc.cfg.hooks.events != nil {
		hs.event(RPCEvent{Kind: EventInPayload, Payload: m, Length: plain, WireLength: wire})
	}
}

// reportEnd reports, once, how the call ended (err, io.EOF for OK): its
// status as a trailer event when the server answered (gRPC-Web's trailers,
// a Connect end-of-stream message or unary error), then the end report.
func (hs *httpStream) reportEnd(err error) {
	s := &hs.stats
	if s.sh == nil || !s.done.CompareAndSwap(false, true) {
		return
	}
	if s.stop != nil {
		s.stop()
	}
	if hs.hasResp && hs.hc.cc.cfg.hooks.events != nil {
		hs.event(RPCEvent{Kind: EventInTrailer, Header: hs.trailer, Code: codeOf(err)})
	}
	hs.handleRPC(err)
}

// handleRPC makes the end report, from what may be read on any goroutine.
func (hs *httpStream) handleRPC(err error) {
	s := &hs.stats
	rs := &RPCStats{FullMethod: hs.method, Client: true, Begin: s.begin, End: time.Now(), Code: codeOf(err),
		MsgsSent: int(s.sentN.Load()), MsgsRecv: int(s.recvN.Load()),
		WireBytesSent: s.wireSent.Load(), WireBytesRecv: s.wireRecv.Load(), Peer: s.peer.Load()}
	if st := s.st.Load(); st != nil {
		rs.fillFromStream(st) // the HTTP/2 stream's own figures, as a gRPC call reports
	}
	s.sh.HandleRPC(hs.ctx, rs)
}

// watchCancel reports a stream given up by canceling its context, which
// may never see RecvMsg again, as a gRPC stream's is (clientStream.watch):
// once, whichever comes first. Unary calls always end in reportEnd.
func (hs *httpStream) watchCancel() {
	ctx := hs.ctx
	if hs.stats.sh == nil || ctx.Done() == nil {
		return
	}
	hs.stats.stop = context.AfterFunc(ctx, func() {
		if hs.stats.done.CompareAndSwap(false, true) {
			hs.handleRPC(status.FromContextError(ctx.Err()).Err())
		}
	})
}
