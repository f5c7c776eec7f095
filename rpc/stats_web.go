package rpc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/metadata"
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
	peer     *Peer // the connection the request went on, when the transport knows it
	outMsg   any   // the one request message of a body sent whole, reported when it goes
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
// (nil when the transport does not say), and with it the request message
// of a body sent whole.
func (hs *httpStream) evRequestSent(p *Peer) {
	if hs.stats.sh == nil {
		return
	}
	hs.stats.peer = p
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
		hs.event(RPCEvent{Kind: EventInHeader, Header: hs.header, Compression: compressionName(hs.er.decomp), Peer: hs.stats.peer})
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
	if hs.hasResp && hs.hc.cc.cfg.hooks.events != nil {
		hs.event(RPCEvent{Kind: EventInTrailer, Header: hs.trailer, Code: codeOf(err)})
	}
	rs := &RPCStats{FullMethod: hs.method, Client: true, Begin: s.begin, End: time.Now(), Code: codeOf(err),
		MsgsSent: int(s.sentN.Load()), MsgsRecv: int(s.recvN.Load()),
		WireBytesSent: s.wireSent.Load(), WireBytesRecv: s.wireRecv.Load(), Peer: s.peer}
	if st := hs.h2Stream(); st != nil {
		rs.fillFromStream(st) // the HTTP/2 stream's own figures, as a gRPC call reports
	}
	s.sh.HandleRPC(hs.ctx, rs)
}

// h2Stream is the call's HTTP/2 stream on the client's own sessions; nil
// for the other transports.
func (hs *httpStream) h2Stream() *h2.Stream {
	if hs.reqSt != nil {
		return hs.reqSt
	}
	if hs.hasResp {
		return hs.resp.st
	}
	return nil
}
