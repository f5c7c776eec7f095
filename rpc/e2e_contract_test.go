package rpc

import (
	"context"
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The failure contract (docs/failures.md): for every way a connection can
// end, every open call of every kind ends with UNAVAILABLE, or CANCELED /
// DEADLINE_EXCEEDED when the caller caused it, with a message that names
// the cause; SendMsg then returns io.EOF; the server's handlers see their
// context end; calls the server never processed are retried transparently
// on a new connection; nothing leaks.

// contractWay is one row of docs/failures.md's table.
type contractWay struct {
	name string
	opts contractOptions
	// callTimeout bounds the calls (default 20 s, which no row should reach).
	callTimeout time.Duration
	// before runs before the calls start and after runs once the server has
	// their headers; end runs once every handler is blocked (not for
	// unprocessed rows). cancel cancels the calls' context.
	before, after func(t *testing.T, e *contractEnv)
	end           func(t *testing.T, e *contractEnv, cancel context.CancelFunc)
	// unprocessed: the server never runs the calls on the first connection;
	// every call is retried on a new one, where it succeeds.
	unprocessed bool
	code        codes.Code
	msg         string // a regular expression the status message must match
	// serverSees: every handler's context ends (the server learns of the loss).
	serverSees bool
	// recovers: the server is still up, and the next call gets a new connection.
	recovers bool
}

var contractWays = []contractWay{
	{
		name: "peer FIN (server process killed)",
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			for _, c := range e.rawConns() {
				_ = c.Close()
			}
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: (the peer closed the connection|.*connection reset by peer)$`,
		serverSees: true,
		recovers:   true,
	},
	{
		name: "TCP RST",
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			for _, c := range e.rawConns() {
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.Close()
			}
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: (read|write) tcp .*: (connection reset by peer|broken pipe)$`,
		serverSees: true,
		recovers:   true,
	},
	{
		name: "GOAWAY, call below its last stream id, then the connection ends",
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			for _, s := range e.serverSessions() {
				require.NoError(t, s.GoAway(h2.ErrCodeNo, []byte("maintenance")))
			}
			require.Eventually(t, func() bool { return e.cc.GetState() != Ready }, 10*time.Second, time.Millisecond)
			for _, c := range e.rawConns() {
				_ = c.Close()
			}
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: the peer closed the connection \(after its GOAWAY NO_ERROR with last stream \d+: "maintenance"\)$`,
		serverSees: true,
		recovers:   true,
	},
	{
		name: "GOAWAY, call above its last stream id",
		before: func(t *testing.T, e *contractEnv) {
			for _, c := range e.clientConns() {
				c.hold() // the GOAWAY reaches the client only once the calls are out
			}
			for _, s := range e.serverSessions() {
				require.NoError(t, s.GoAway(h2.ErrCodeNo, []byte("maintenance")))
			}
		},
		after: func(t *testing.T, e *contractEnv) {
			for _, c := range e.clientConns() {
				c.release()
			}
		},
		unprocessed: true,
	},
	{
		name: "client keepalive timeout (silent network)",
		opts: contractOptions{keepalive: &ClientParameters{Time: 100 * time.Millisecond, Timeout: 200 * time.Millisecond}},
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			for _, c := range e.clientConns() {
				c.silence()
			}
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: keepalive ping not acknowledged within 200ms`,
		serverSees: true, // the client closes the connection it gave up on
		recovers:   true,
	},
	{
		name: "TLS close_notify and close",
		opts: contractOptions{tls: true},
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			for _, s := range e.serverSessions() {
				_ = s.Conn().Close() // a *tls.Conn: close_notify, then FIN
			}
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: the peer closed the connection$`,
		serverSees: true,
		recovers:   true,
	},
	{
		name: "server Stop",
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			e.srv.Stop()
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: the peer closed the connection \(after its GOAWAY NO_ERROR with last stream \d+: "server closed"\)$`,
		serverSees: true,
	},
	{
		name: "server Shutdown reaching its deadline",
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			require.ErrorIs(t, e.srv.Shutdown(ctx), context.DeadlineExceeded)
		},
		code: codes.Unavailable, msg: `^rpc: transport: h2: connection lost: the peer closed the connection \(after its GOAWAY NO_ERROR with last stream \d+: "server shutdown deadline reached"\)$`,
		serverSees: true,
	},
	{
		name:        "silent network, no keepalive: the caller's deadline",
		callTimeout: time.Second,
		end: func(t *testing.T, e *contractEnv, _ context.CancelFunc) {
			for _, c := range e.clientConns() {
				c.silence()
			}
		},
		code: codes.DeadlineExceeded, msg: `^context deadline exceeded$`,
		serverSees: true, // through the grpc-timeout the client sent
	},
	{
		name: "the caller cancels",
		end: func(t *testing.T, e *contractEnv, cancel context.CancelFunc) {
			cancel()
		},
		code: codes.Canceled, msg: `^context canceled$`,
		serverSees: true,
		recovers:   true,
	},
}

// contractResult is how a call ended: its error, and what SendMsg said
// after it (kinds that send only).
type contractResult struct {
	kind           string
	err, sendAfter error
}

// runContractCall makes one call of kind and waits for its end.
func runContractCall(ctx context.Context, cc *ClientConn, kind string, unprocessed bool) contractResult {
	r := contractResult{kind: kind}
	req := wrapperspb.String("block")
	if unprocessed {
		req = wrapperspb.String("ok") // retried on a new connection, where it succeeds
	}
	if kind == "unary" {
		r.err = cc.Invoke(ctx, "/test.Contract/Unary", req, new(wrapperspb.StringValue))
		return r
	}
	i := map[string]int{"server streaming": 0, "client streaming": 1, "bidi": 2}[kind]
	desc := &contractDesc.Streams[i]
	cs, err := cc.NewStream(ctx, desc, "/test.Contract/"+desc.StreamName)
	if err != nil {
		r.err = err
		return r
	}
	if r.err = cs.SendMsg(req); r.err != nil {
		return r
	}
	if !desc.ClientStreams {
		_ = cs.CloseSend()
	}
	for r.err == nil { // the first message may arrive, or be lost with the connection
		r.err = cs.RecvMsg(new(wrapperspb.StringValue))
	}
	if desc.ClientStreams {
		r.sendAfter = cs.SendMsg(wrapperspb.String("after"))
	}
	return r
}

var contractKinds = []string{"unary", "server streaming", "client streaming", "bidi"}

func TestFailureContract(t *testing.T) {
	for _, way := range contractWays {
		t.Run(way.name, func(t *testing.T) {
			checkNoLeaks(t)
			e := newContractEnv(t, way.opts)
			e.warmUp(t)
			timeout := way.callTimeout
			if timeout == 0 {
				timeout = 20 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if way.before != nil {
				way.before(t, e)
			}
			results := make(chan contractResult, len(contractKinds))
			for _, kind := range contractKinds {
				go func() { results <- runContractCall(ctx, e.cc, kind, way.unprocessed) }()
			}
			if way.unprocessed {
				// The server has every call's headers (and ignores them)
				// before the client may see the GOAWAY.
				sess := e.serverSessions()
				require.Len(t, sess, 1)
				require.Eventually(t, func() bool { return sess[0].State().LastProcessedStreamID >= 9 }, 10*time.Second, time.Millisecond)
			} else {
				for range contractKinds {
					select {
					case <-e.impl.started:
					case <-time.After(10 * time.Second):
						t.Fatal("the calls did not all start")
					}
				}
			}
			if way.after != nil {
				way.after(t, e)
			}
			if way.end != nil {
				way.end(t, e, cancel)
			}
			msg := regexp.MustCompile(way.msg)
			for range contractKinds {
				var r contractResult
				select {
				case r = <-results:
				case <-time.After(30 * time.Second):
					t.Fatal("a call never ended")
				}
				if way.unprocessed {
					want := io.EOF // the end of a stream that ended with OK
					if r.kind == "unary" {
						want = nil
					}
					require.Equalf(t, want, r.err, "%s: an unprocessed call is retried: %v", r.kind, r.err)
					continue
				}
				require.Equalf(t, way.code, status.Code(r.err), "%s: %v", r.kind, r.err)
				require.Regexpf(t, msg, status.Convert(r.err).Message(), "%s", r.kind)
				if r.kind == "client streaming" || r.kind == "bidi" {
					require.Equalf(t, io.EOF, r.sendAfter, "%s: SendMsg after the end", r.kind)
				}
			}
			if way.unprocessed {
				require.Len(t, e.rawConns(), 2, "the calls were retried on a second connection")
			}
			if way.recovers {
				e.warmUp(t)
			}
			if way.serverSees {
				for range contractKinds {
					select {
					case err := <-e.impl.ended:
						require.Error(t, err, "the handler's context ended")
					case <-time.After(10 * time.Second):
						t.Fatal("a handler's context never ended")
					}
				}
			}
		})
	}
}
