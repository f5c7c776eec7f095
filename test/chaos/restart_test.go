//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/stretchr/testify/require"
)

// restartWorkers is the number of concurrent wait-for-ready callers.
const restartWorkers = 32

// TestKillRestart kills the server with SIGKILL and restarts it, again and
// again, under 32 wait-for-ready workers: only the calls in flight at a kill
// may fail, and every one of them with UNAVAILABLE.
func TestKillRestart(t *testing.T) { runRestarts(t, syscall.SIGKILL) }

// TestGracefulRestart does the same with SIGTERM (rpc.Server.Shutdown): no
// call may fail at all.
func TestGracefulRestart(t *testing.T) { runRestarts(t, syscall.SIGTERM) }

func runRestarts(t *testing.T, sig syscall.Signal) {
	interval := pick(5*time.Second, 20*time.Second)
	restarts := pick(3, 9)
	port := strconv.Itoa(freePort(t))
	listen := "127.0.0.1:" + port
	srv := startServer(t, "", "h2rpcserver", "-listen", listen, "-stats", "127.0.0.1:0")
	cc := newClient(t, listen)
	client := testpb.NewTestServiceClient(cc)

	calls := newTally()
	var failTimes []time.Time
	var failMu sync.Mutex
	var okAfterLastRestart atomic.Int64
	var lastRestart atomic.Int64 // unix nanos
	ctx, stopWorkers := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for i := range restartWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			kind, call := "unary", unaryCall
			if i%2 == 1 {
				kind, call = "server-stream", serverStreamCall
			}
			for ctx.Err() == nil {
				// A generous deadline: a wait-for-ready call waits out the restart.
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := call(cctx, client, rpc.WaitForReady(true))
				cancel()
				if ctx.Err() != nil {
					return // the test ended the call, not the chaos
				}
				calls.add(kind, err)
				if err != nil {
					failMu.Lock()
					failTimes = append(failTimes, time.Now())
					failMu.Unlock()
				} else if time.Now().UnixNano() > lastRestart.Load() && lastRestart.Load() != 0 {
					okAfterLastRestart.Add(1)
				}
			}
		}()
	}

	var killTimes []time.Time
	var restartTime time.Duration // from the end of one process to the next one's ready line
	for range restarts {
		time.Sleep(interval)
		killTimes = append(killTimes, time.Now())
		if sig == syscall.SIGKILL {
			srv.kill()
		} else {
			srv.stop(t)
		}
		down := time.Now()
		srv = startServer(t, "", "h2rpcserver", "-listen", listen, "-stats", "127.0.0.1:0")
		restartTime += time.Since(down)
		okAfterLastRestart.Store(0)
		lastRestart.Store(time.Now().UnixNano())
	}
	time.Sleep(interval)
	stopWorkers()
	workers.Wait()

	failed, onlyUnavailable := calls.failed(codes.Unavailable)
	failMu.Lock()
	// A call in flight at a kill fails as soon as its connection breaks:
	// within a second of the kill.
	var late []string
	perKill := make([]int, len(killTimes))
	for _, ft := range failTimes {
		near := false
		for i, kt := range killTimes {
			if !ft.Before(kt) && ft.Sub(kt) < time.Second {
				near = true
				perKill[i]++
			}
		}
		if !near {
			late = append(late, ft.Format("15:04:05.000"))
		}
	}
	failMu.Unlock()
	report(t, "%d restarts every %s (%s; restarting took %s in all): %s; failed %d (per restart %v); OK after the last restart %d%s",
		restarts, interval, sig, restartTime.Round(time.Millisecond), calls, failed, perKill, okAfterLastRestart.Load(),
		examplesSuffix(calls))

	require.Positive(t, okAfterLastRestart.Load(), "the client recovers after the last restart")
	if sig == syscall.SIGTERM {
		require.Zero(t, failed, "a graceful shutdown loses no call: %s", calls)
		return
	}
	require.True(t, onlyUnavailable, "every call broken by a kill ends UNAVAILABLE: %s\n%s", calls, calls.examples())
	require.LessOrEqual(t, failed, restartWorkers*restarts, "at most the calls in flight at each kill fail")
	require.Empty(t, late, "calls failed away from any kill (kills at %v)", killTimes)
}

func examplesSuffix(c *tally) string {
	if ex := c.examples(); ex != "" {
		return "\nexamples: " + ex
	}
	return ""
}

// unaryCall makes one UnaryCall with a 1 KiB request and response.
func unaryCall(ctx context.Context, c testpb.TestServiceClient, opts ...rpc.CallOption) error {
	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{
		ResponseSize: 1024,
		Payload:      &testpb.Payload{Body: make([]byte, 1024)},
	}, opts...)
	return err
}

// serverStreamCall reads a server stream of 8 × 1 KiB responses 5 ms apart,
// so that many are open at any instant.
func serverStreamCall(ctx context.Context, c testpb.TestServiceClient, opts ...rpc.CallOption) error {
	params := make([]*testpb.ResponseParameters, 8)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 1024, IntervalUs: 5000}
	}
	st, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params}, opts...)
	if err != nil {
		return err
	}
	n := 0
	for {
		_, err := st.Recv()
		if errors.Is(err, io.EOF) {
			if n != len(params) {
				return fmt.Errorf("server stream ended OK after %d of %d responses", n, len(params))
			}
			return nil
		}
		if err != nil {
			return err
		}
		n++
	}
}
