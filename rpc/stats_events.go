package rpc

import (
	"context"
	"net"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
)

// RPCEventHandler is what a StatsHandler also implements to see each step of
// a call, not only its end: the events OpenTelemetry's RPC conventions and
// gRFC A66 need (grpc-go's stats.Handler reports the same ones).
//
// It is an optional extension, checked once when the handler is installed
// (StatsHandlerOption, WithStatsHandler): a call without a handler pays one
// nil check per step, and a handler that only wants the end report
// (HandleRPC) is never called for the steps. The end stays HandleRPC's
// *RPCStats, so handlers written before the events keep working unchanged.
//
// HandleRPCEvent gets the context TagRPC returned and runs on the call's
// path (keep it quick). Events of one call come in order: EventBegin first,
// then header, message and trailer events as they happen, then HandleRPC.
// The event is passed by value, so reporting it allocates nothing; its
// Header and Payload must not be kept or modified after the call returns.
type RPCEventHandler interface {
	StatsHandler
	HandleRPCEvent(ctx context.Context, ev RPCEvent)
}

// EventKind says which step of a call an RPCEvent reports.
type EventKind uint8

// The steps of a call. "In" is what this side received, "Out" what it sent.
const (
	EventBegin      EventKind = iota + 1 // the call began (after TagRPC)
	EventInHeader                        // the peer's header block: request headers on a server, response headers on a client
	EventOutHeader                       // our header block went out
	EventInPayload                       // a message was received and decoded
	EventOutPayload                      // a message was encoded and handed to the transport
	EventInTrailer                       // the client received the status and trailers (also for a trailers-only response)
	EventOutTrailer                      // the server sent the status and trailers
)

var eventKindNames = [...]string{"", "Begin", "InHeader", "OutHeader", "InPayload", "OutPayload", "InTrailer", "OutTrailer"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && k != 0 {
		return eventKindNames[k]
	}
	return "EventKind(" + codeString(codes.Code(k)) + ")"
}

// RPCEvent is one step of a call. Which fields are set depends on Kind.
type RPCEvent struct {
	Kind       EventKind
	Client     bool   // reported by a ClientConn, not a Server
	FullMethod string // "/pkg.Service/Method" (on a server, whatever the peer asked for)
	Time       time.Time

	// EventBegin: the kind of call. On a server they say what the method
	// was registered as (both false for an unknown method, which
	// UnknownMethod flags: see RPCStats.UnknownMethod). On a client, Target
	// is the ClientConn's target as given to NewClient, and Authority is set.
	ClientStream, ServerStream bool
	UnknownMethod              bool
	Target                     string

	// Header and trailer events: the user metadata (nil when there is
	// none). Authority is the :authority of the request (EventOutHeader on
	// a client, EventInHeader on a server); Compression the grpc-encoding
	// of the messages the header announces ("" for identity); Peer the
	// other end of the connection.
	Header      metadata.MD
	Authority   string
	Compression string
	Peer        *Peer

	// EventOutTrailer, EventInTrailer: the call's status code.
	Code codes.Code

	// Message events: the message itself, its encoded size before
	// compression (Length), and its size on the wire, the 5-byte prefix
	// and the possibly compressed payload (WireLength). A Connect unary
	// message goes without the prefix and is counted as if it had one, so
	// that sizes mean the same in every protocol.
	Payload    any
	Length     int
	WireLength int
}

// ConnStatsHandler is what a StatsHandler also implements to hear of
// connections (as grpc-go's TagConn and HandleConn): EventConnBegin when one
// is established (on a client once the server's SETTINGS arrived), and
// EventConnEnd when it has closed. HandleConn gets the context TagConn
// returned for that connection. It is checked once, like RPCEventHandler.
type ConnStatsHandler interface {
	TagConn(ctx context.Context, info ConnInfo) context.Context
	HandleConn(ctx context.Context, ev ConnEvent)
}

// ConnInfo describes a connection for TagConn.
type ConnInfo struct {
	Client     bool
	RemoteAddr net.Addr
	LocalAddr  net.Addr
}

// ConnEventKind says whether a ConnEvent reports a connection's beginning or end.
type ConnEventKind uint8

const (
	EventConnBegin ConnEventKind = iota + 1
	EventConnEnd
)

// ConnEvent reports a connection's beginning or end.
type ConnEvent struct {
	Kind   ConnEventKind
	Client bool
	Time   time.Time
	Err    error // EventConnEnd: why it closed; nil for a clean close
}

// statsHooks are a StatsHandler's optional extensions, looked up once.
type statsHooks struct {
	events RPCEventHandler
	conns  ConnStatsHandler
}

func hooksOf(h StatsHandler) statsHooks {
	var sh statsHooks
	sh.events, _ = h.(RPCEventHandler)
	sh.conns, _ = h.(ConnStatsHandler)
	return sh
}

// trackConn reports sess's beginning to h now and its end when it closes.
// The session's OnClose hook is already taken on both sides, so the end is
// awaited on sess.Done from a goroutine that lives as long as the session.
func trackConn(h ConnStatsHandler, sess *h2.Session, client bool) {
	ctx := h.TagConn(context.Background(), ConnInfo{Client: client, RemoteAddr: sess.RemoteAddr(), LocalAddr: sess.LocalAddr()})
	h.HandleConn(ctx, ConnEvent{Kind: EventConnBegin, Client: client, Time: time.Now()})
	go func() {
		<-sess.Done()
		h.HandleConn(ctx, ConnEvent{Kind: EventConnEnd, Client: client, Time: time.Now(), Err: sess.Err()})
	}()
}

// messageLen is the encoded size of m before compression, given its size
// on the wire. Only event handlers ask, so the compressed case may measure
// the message again.
func messageLen(codec Codec, comp Compressor, m any, wire int) int {
	if comp == nil {
		return wire - envelopeHeaderLen
	}
	if sc, ok := codec.(sizedCodec); ok {
		if n := sc.Size(m); n >= 0 {
			return n
		}
	}
	b, err := codec.Marshal(nil, m)
	if err != nil {
		return -1
	}
	return len(b)
}

func compressionName(c Compressor) string {
	if c == nil {
		return ""
	}
	return c.Name()
}

// Client side: each helper costs one nil check without an event handler.

func (cs *clientStream) event(ev RPCEvent) {
	ev.Client, ev.FullMethod, ev.Time = true, cs.method, time.Now()
	cs.cc.cfg.hooks.events.HandleRPCEvent(cs.ctx, ev)
}

func (cs *clientStream) evBegin() {
	if cs.cc.cfg.hooks.events != nil {
		cs.event(RPCEvent{Kind: EventBegin, ClientStream: cs.desc.ClientStreams, ServerStream: cs.desc.ServerStreams,
			Target: cs.cc.target, Authority: cs.cc.authority})
	}
}

func (cs *clientStream) evOutHeader(sess *h2.Session) {
	if cs.cc.cfg.hooks.events != nil {
		md, _ := metadata.FromOutgoingContext(cs.ctx)
		cs.event(RPCEvent{Kind: EventOutHeader, Header: md, Authority: cs.cc.authority,
			Compression: compressionName(cs.comp), Peer: peerOf(sess)})
	}
}

func (cs *clientStream) evOutPayload(m any, wire int) {
	if cs.cc.cfg.hooks.events != nil {
		cs.event(RPCEvent{Kind: EventOutPayload, Payload: m, WireLength: wire, Length: messageLen(cs.codec, cs.comp, m, wire)})
	}
}

// evInHeader reports the response header h, unless it is a trailers-only
// response: that is reported as trailers (evInTrailer) only.
func (cs *clientStream) evInHeader(h h2.Header) {
	if cs.cc.cfg.hooks.events != nil && h.Get("grpc-status") == "" {
		var p *Peer
		if sess := cs.stream().Session(); sess != nil {
			p = peerOf(sess)
		}
		cs.event(RPCEvent{Kind: EventInHeader, Header: cs.header, Compression: compressionName(cs.er.decomp), Peer: p})
	}
}

func (cs *clientStream) evInTrailer(err error) {
	if cs.cc.cfg.hooks.events != nil {
		cs.event(RPCEvent{Kind: EventInTrailer, Header: cs.trailer, Code: codeOf(err)})
	}
}

func (cs *clientStream) evInPayload(m any, plain int) {
	if cs.cc.cfg.hooks.events != nil {
		cs.event(RPCEvent{Kind: EventInPayload, Payload: m, Length: plain, WireLength: cs.er.wire})
	}
}

// Server side, likewise.

func (ss *serverStream) event(ev RPCEvent) {
	ev.FullMethod, ev.Time = methodPath(ss.req), time.Now()
	ss.srv.opts.hooks.events.HandleRPCEvent(ss.ctx, ev)
}

// evBegin reports the call's beginning and its request headers.
func (ss *serverStream) evBegin() {
	if ss.srv.opts.hooks.events == nil {
		return
	}
	ev := RPCEvent{Kind: EventBegin, UnknownMethod: ss.srv.methods[methodPath(ss.req)] == nil}
	if ss.mi != nil {
		if d := ss.mi.stream; d != nil {
			ev.ClientStream, ev.ServerStream = d.ClientStreams, d.ServerStreams
		}
	}
	ss.event(ev)
	md, _ := metadata.FromIncomingContext(ss.ctx)
	p, _ := PeerFromContext(ss.ctx)
	ss.event(RPCEvent{Kind: EventInHeader, Header: md, Authority: ss.req.Get(":authority"),
		Compression: compressionName(ss.er.decomp), Peer: p})
}

func (ss *serverStream) evInPayload(m any, plain int) {
	if ss.srv.opts.hooks.events != nil {
		ss.event(RPCEvent{Kind: EventInPayload, Payload: m, Length: plain, WireLength: ss.er.wire})
	}
}

func (ss *serverStream) evOutHeader() {
	if ss.srv.opts.hooks.events != nil {
		p, _ := PeerFromContext(ss.ctx)
		ss.event(RPCEvent{Kind: EventOutHeader, Header: ss.header, Compression: compressionName(ss.comp), Peer: p})
	}
}

func (ss *serverStream) evOutPayload(m any, wire int) {
	if ss.srv.opts.hooks.events != nil {
		ss.event(RPCEvent{Kind: EventOutPayload, Payload: m, WireLength: wire, Length: messageLen(ss.codec.codec, ss.comp, m, wire)})
	}
}

func (ss *serverStream) evOutTrailer(code codes.Code) {
	if ss.srv.opts.hooks.events != nil {
		ss.event(RPCEvent{Kind: EventOutTrailer, Header: ss.trailer, Code: code})
	}
}
