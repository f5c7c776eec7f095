package rpc

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// gRPC-Web and Connect client calls report the same steps as gRPC calls
// (TestStatsEventsUnary, TestStatsEventsStreamAndFailure), on the client's
// own HTTP/2 sessions, over WithHTTP1 and through WithHTTPClient: a unary call, a server stream and
// a failed unary call, whose status comes in the body (gRPC-Web's trailer
// envelope, Connect's JSON error).
func TestStatsEventsWebClient(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []DialOption
	}{
		{"connect/h2c", []DialOption{WithConnect()}},
		{"connect/http1", []DialOption{WithConnect(), WithHTTP1()}},
		{"grpc-web/h2c", []DialOption{WithGRPCWeb()}},
		{"grpc-web/http1", []DialOption{WithGRPCWeb(), WithHTTP1()}},
		{"connect/http-client", []DialOption{WithConnect(), WithHTTPClient(http.DefaultClient)}},
		{"grpc-web/http-client", []DialOption{WithGRPCWeb(), WithHTTPClient(http.DefaultClient)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeaks(t)
			srv, cli := &eventRecorder{}, &eventRecorder{}
			e := newEnv(t, true, []ServerOption{StatsHandlerOption(srv), CompressMinBytes(0)},
				append(c.opts, WithStatsHandler(cli))...)
			ctx := metadata.AppendToOutgoingContext(ctxTimeout(t, 5*time.Second), "who", "me")
			msg := strings.Repeat("a", 200) // compresses well, so wire and plain sizes differ
			got, err := e.echo(ctx, msg, UseCompressor("gzip"))
			require.NoError(t, err)
			require.Equal(t, msg, got)

			cs, err := e.cc.NewStream(ctx, &echoDesc.Streams[0], "/test.Echo/Count")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.Int32(3)))
			require.NoError(t, cs.CloseSend())
			for cs.RecvMsg(new(wrapperspb.StringValue)) == nil {
			}
			const m = "/test.Echo/Echo"
			// The unary call has returned: all its events are in.
			require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload, EventInHeader, EventInPayload, EventInTrailer}, cli.kinds(m))
			_, err = e.echo(ctx, "error:5:gone")
			require.Equal(t, codes.NotFound, codeOf(err))
			waitStats(t, &cli.recorder, 3)

			require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload, EventInHeader,
				EventInPayload, EventInPayload, EventInPayload, EventInTrailer}, cli.kinds("/test.Echo/Count"))

			plain := proto.Size(wrapperspb.String(msg))
			out, in := cli.first(EventOutPayload), cli.first(EventInPayload)
			require.True(t, out.Client)
			require.Equal(t, plain, out.Length, "uncompressed size")
			require.Equal(t, plain, in.Length)
			require.Less(t, out.WireLength, plain, "gzip shrank 200 repeated bytes")
			require.Equal(t, srv.first(EventInPayload).WireLength, out.WireLength, "the server saw the same wire size")
			require.Equal(t, srv.first(EventOutPayload).WireLength, in.WireLength)
			require.Equal(t, "gzip", cli.first(EventOutHeader).Compression)
			require.Equal(t, []string{"me"}, cli.first(EventOutHeader).Header["who"])
			require.Equal(t, e.addr, cli.first(EventOutHeader).Authority)
			// net/http does not say which connection carried a request;
			// the client's own transports do.
			own := !strings.HasSuffix(c.name, "http-client")
			require.Equal(t, own, cli.first(EventOutHeader).Peer != nil)
			require.Equal(t, own, cli.first(EventInHeader).Peer != nil)
			require.Equal(t, e.addr, cli.first(EventBegin).Target)
			require.Equal(t, e.addr, cli.first(EventBegin).Authority)
			require.Equal(t, codes.OK, cli.first(EventInTrailer).Code)

			// The failed call: its status is reported, whatever carried it.
			kinds := cli.kinds(m)[6:]
			require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload}, kinds[:3])
			require.Equal(t, EventInTrailer, kinds[len(kinds)-1])
			require.Equal(t, codes.NotFound, cli.last(m).Code)

			reports, tags := cli.all()
			for i, r := range reports {
				require.True(t, r.Client)
				require.Equal(t, "tag:"+r.FullMethod, tags[i], "HandleRPC gets TagRPC's context")
				require.Equal(t, own, r.Peer != nil)
				require.Positive(t, r.WireBytesSent)
			}
			echo := findStats(t, reports, func(r RPCStats) bool { return r.FullMethod == m && r.Code == codes.OK })
			require.Equal(t, 1, echo.MsgsSent)
			require.Equal(t, 1, echo.MsgsRecv)
			count := findStats(t, reports, func(r RPCStats) bool { return r.FullMethod == "/test.Echo/Count" })
			require.Equal(t, 3, count.MsgsRecv)
			failed := findStats(t, reports, func(r RPCStats) bool { return r.FullMethod == m && r.Code != codes.OK })
			require.Equal(t, codes.NotFound, failed.Code)

			// A client stream: its messages are reported as they are written.
			cs, err = e.cc.NewStream(ctx, &echoDesc.Streams[1], "/test.Echo/Concat")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.String("a")))
			require.NoError(t, cs.SendMsg(wrapperspb.String("b")))
			require.NoError(t, cs.CloseSend())
			require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))
			require.ErrorIs(t, cs.RecvMsg(new(wrapperspb.StringValue)), io.EOF) // the status, as CloseAndRecv reads it
			require.Equal(t, []EventKind{EventBegin, EventOutHeader, EventOutPayload, EventOutPayload, EventInHeader,
				EventInPayload, EventInTrailer}, cli.kinds("/test.Echo/Concat"))

			// A stream given up by canceling its context, RecvMsg never
			// called again, is reported all the same.
			sctx, cancel := context.WithCancel(ctx)
			cs, err = e.cc.NewStream(sctx, &echoDesc.Streams[0], "/test.Echo/Count")
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(wrapperspb.Int32(2)))
			require.NoError(t, cs.CloseSend())
			cancel()
			reports = waitStats(t, &cli.recorder, 5)
			canceled := findStats(t, reports, func(r RPCStats) bool { return r.FullMethod == "/test.Echo/Count" && r.Code != codes.OK })
			require.Equal(t, codes.Canceled, canceled.Code)
		})
	}
}
