package rpc

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// eventRecorder wants every event: calls' steps and connections.
type eventRecorder struct {
	recorder
	emu      sync.Mutex
	events   []RPCEvent
	conns    []ConnEvent
	connTags []any
}

type connTagKey struct{}

func (r *eventRecorder) HandleRPCEvent(ctx context.Context, ev RPCEvent) {
	if ctx.Value(tagKey{}) != "tag:"+ev.FullMethod {
		ev.Kind = 0 // the context TagRPC returned is missing: fails the test's kinds check
	}
	ev.Header = ev.Header.Copy() // the handler must not keep it
	r.emu.Lock()
	r.events = append(r.events, ev)
	r.emu.Unlock()
}

func (r *eventRecorder) TagConn(ctx context.Context, info ConnInfo) context.Context {
	return context.WithValue(ctx, connTagKey{}, info.RemoteAddr.String())
}

func (r *eventRecorder) HandleConn(ctx context.Context, ev ConnEvent) {
	r.emu.Lock()
	r.conns = append(r.conns, ev)
	r.connTags = append(r.connTags, ctx.Value(connTagKey{}))
	r.emu.Unlock()
}

// kinds lists the kinds of the events of method, in order.
func (r *eventRecorder) kinds(method string) []EventKind {
	r.emu.Lock()
	defer r.emu.Unlock()
	var out []EventKind
	for _, ev := range r.events {
		if ev.FullMethod == method {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// last returns the last event recorded for method.
func (r *eventRecorder) last(method string) RPCEvent {
	r.emu.Lock()
	defer r.emu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if r.events[i].FullMethod == method {
			return r.events[i]
		}
	}
	return RPCEvent{}
}

func (r *eventRecorder) first(kind EventKind) RPCEvent {
	r.emu.Lock()
	defer r.emu.Unlock()
	for _, ev := range r.events {
		if ev.Kind == kind {
			return ev
		}
	}
	return RPCEvent{}
}

func TestStatsEventsUnary(t *testing.T) {
	checkNoLeaks(t)
	srv, cli := &eventRecorder{}, &eventRecorder{}
	// CompressMinBytes(0): 200 bytes are under the default threshold.
	e := newEnv(t, true, []ServerOption{StatsHandlerOption(srv), CompressMinBytes(0)}, WithStatsHandler(cli))
	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "who", "me")
	msg := strings.Repeat("a", 200) // compresses well, so wire and plain sizes differ
	got, err := e.echo(ctx, msg, UseCompressor("gzip"))
	require.NoError(t, err)
	require.Equal(t, msg, got)
	waitStats(t, &srv.recorder, 1) // the server's end comes after its last event

	const m = "/test.Echo/Echo"
	require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload, EventInHeader, EventInPayload, EventInTrailer}, cli.kinds(m))
	require.Equal(t, []EventKind{EventBegin, EventInHeader, EventInPayload, EventOutPayload, EventOutHeader, EventOutTrailer}, srv.kinds(m))

	plain := proto.Size(wrapperspb.String(msg))
	for _, r := range []*eventRecorder{cli, srv} {
		client := r == cli
		out, in := r.first(EventOutPayload), r.first(EventInPayload)
		require.Equal(t, client, out.Client)
		require.Equal(t, plain, out.Length, "uncompressed size")
		require.Equal(t, plain, in.Length)
		require.Less(t, out.WireLength, plain, "gzip shrank 200 repeated bytes")
		require.Equal(t, out.WireLength, in.WireLength, "both sides see the same wire size")
		require.False(t, out.Time.IsZero())
		require.Equal(t, "gzip", r.first(EventInHeader).Compression)
		require.Equal(t, "gzip", r.first(EventOutHeader).Compression)
		require.NotNil(t, r.first(EventInHeader).Peer)
	}
	require.Equal(t, []string{"me"}, cli.first(EventOutHeader).Header["who"])
	require.Equal(t, []string{"me"}, srv.first(EventInHeader).Header["who"])
	require.Equal(t, e.addr, srv.first(EventInHeader).Authority)
	require.Equal(t, e.addr, cli.first(EventOutHeader).Authority)
	require.Equal(t, codes.OK, cli.first(EventInTrailer).Code)
	require.Equal(t, codes.OK, srv.first(EventOutTrailer).Code)
	require.Equal(t, m, srv.first(EventBegin).FullMethod)
	require.False(t, srv.first(EventBegin).ClientStream)
	require.False(t, srv.first(EventBegin).UnknownMethod)
	require.Equal(t, e.addr, cli.first(EventBegin).Target)
}

func TestStatsEventsUnknownMethod(t *testing.T) {
	checkNoLeaks(t)
	srv := &eventRecorder{}
	e := newEnv(t, false, []ServerOption{StatsHandlerOption(srv)})
	err := e.cc.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Nope", wrapperspb.String("x"), new(wrapperspb.StringValue))
	require.Equal(t, codes.Unimplemented, codeOf(err))
	waitStats(t, &srv.recorder, 1)
	require.True(t, srv.first(EventBegin).UnknownMethod)
	require.Equal(t, codes.Unimplemented, srv.first(EventOutTrailer).Code)
}

func TestStatsEventsStreamAndFailure(t *testing.T) {
	checkNoLeaks(t)
	srv, cli := &eventRecorder{}, &eventRecorder{}
	e := newEnv(t, false, []ServerOption{StatsHandlerOption(srv)}, WithStatsHandler(cli))
	ctx := ctxTimeout(t, 5*time.Second)
	cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.Int32(3)))
	require.NoError(t, cs.CloseSend())
	for cs.RecvMsg(new(wrapperspb.StringValue)) == nil {
	}
	_, err = e.echo(ctx, "error:5:gone")
	require.Equal(t, codes.NotFound, codeOf(err))
	waitStats(t, &srv.recorder, 2)

	require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload, EventInHeader,
		EventInPayload, EventInPayload, EventInPayload, EventInTrailer}, cli.kinds("/test.Echo/Count"))
	require.Equal(t, []EventKind{EventBegin, EventInHeader, EventInPayload, EventOutHeader,
		EventOutPayload, EventOutPayload, EventOutPayload, EventOutTrailer}, srv.kinds("/test.Echo/Count"))
	begin := srv.first(EventBegin)
	require.True(t, begin.ServerStream)
	require.False(t, begin.ClientStream)
	require.True(t, cli.first(EventBegin).ServerStream)

	// A failed unary call: trailers-only, so no response header event.
	require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload, EventInTrailer}, cli.kinds("/test.Echo/Echo"))
	require.Equal(t, []EventKind{EventBegin, EventInHeader, EventInPayload, EventOutTrailer}, srv.kinds("/test.Echo/Echo"))
	// The streaming call's own last event may be recorded after the unary
	// call's, so the unary call's are picked out by method.
	require.Equal(t, codes.NotFound, srv.last("/test.Echo/Echo").Code)
}

func TestStatsConnEvents(t *testing.T) {
	checkNoLeaks(t)
	srv, cli := &eventRecorder{}, &eventRecorder{}
	e := newEnv(t, true, []ServerOption{StatsHandlerOption(srv)}, WithStatsHandler(cli))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "hi")
	require.NoError(t, err)
	require.NoError(t, e.cc.Close())
	for _, r := range []*eventRecorder{cli, srv} {
		require.Eventually(t, func() bool {
			r.emu.Lock()
			defer r.emu.Unlock()
			return len(r.conns) == 2
		}, 5*time.Second, time.Millisecond)
		r.emu.Lock()
		require.Equal(t, EventConnBegin, r.conns[0].Kind)
		require.Equal(t, EventConnEnd, r.conns[1].Kind)
		require.Equal(t, r == cli, r.conns[0].Client)
		require.NotNil(t, r.connTags[1], "HandleConn gets the context TagConn returned")
		require.Equal(t, r.connTags[0], r.connTags[1])
		r.emu.Unlock()
	}
	require.Equal(t, e.addr, cli.connTags[0])
}

// A handler with only TagRPC and HandleRPC still gets exactly the end
// report: the events are an extension it does not implement.
func TestStatsHandlerWithoutEventsGetsTheEnd(t *testing.T) {
	checkNoLeaks(t)
	var h StatsHandler = &recorder{}
	_, isEvents := h.(RPCEventHandler)
	require.False(t, isEvents)
	e := newEnv(t, false, nil, WithStatsHandler(h))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Len(t, waitStats(t, h.(*recorder), 1), 1)
}

func TestEventKindString(t *testing.T) {
	require.Equal(t, "OutPayload", EventOutPayload.String())
	require.Equal(t, "EventKind(99)", EventKind(99).String())
}
