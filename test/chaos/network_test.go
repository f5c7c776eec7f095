//go:build chaos

package chaos

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/h2rpc/h2rpc/test/chaos/forwarder"
	"github.com/stretchr/testify/require"
)

// TestImpairedNetwork runs mixed calls through 50 ms ± 10 ms delay (each
// way), 1 % loss and 25 % reordering between the client and a server in
// another namespace: no call may fail. Throughput and p99 are reported.
func TestImpairedNetwork(t *testing.T) {
	ns := serverNetns(t)
	srv := startServer(t, ns.name, "h2rpcserver", "-listen", ns.serverIP+":0", "-stats", ns.serverIP+":0")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fwd := forwarder.New(l, srv.rpcAddr, forwarder.Config{
		Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.01, Reorder: 0.25, Seed: 1,
	})
	served := make(chan error, 1)
	go func() { served <- fwd.Serve() }()
	defer func() {
		require.NoError(t, fwd.Close())
		require.NoError(t, <-served)
	}()
	netem := "netem missing on this kernel"
	if ns.netemAvailable() {
		netem = "netem present, forwarder used for comparable figures"
	}

	cc := newClient(t, fwd.Addr().String())
	client := testpb.NewTestServiceClient(cc)
	duration := pick(15*time.Second, 60*time.Second)
	const workers = 16
	calls := newTally()
	unary, stream := &latencies{}, &latencies{}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				kind, call, lat := "unary", unaryCall, unary
				if i%2 == 1 {
					kind, call, lat = "server-stream", serverStreamCall, stream
				}
				begin := time.Now()
				// Each call's own deadline is far from the test's end, so
				// that the end of the run is told apart from a failure.
				cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := call(cctx, client)
				ccancel()
				calls.add(kind, err)
				if err == nil {
					lat.add(time.Since(begin))
				}
			}
		}()
	}
	wg.Wait()
	fs := fwd.Stats()
	failed, _ := calls.failed()
	report(t, "forwarder (%s): 50±10 ms each way, 1%% loss (+200 ms), 25%% reordering; %d workers for %s: %s; "+
		"%.0f calls/s; unary p50 %s p99 %s; server stream (8×1 KiB, 5 ms apart) p50 %s p99 %s; forwarder: %d chunks, %d lost, %d reordered%s",
		netem, workers, duration, calls, float64(unary.count()+stream.count())/duration.Seconds(),
		ms(unary.quantile(0.5)), ms(unary.quantile(0.99)), ms(stream.quantile(0.5)), ms(stream.quantile(0.99)),
		fs.Chunks, fs.Lost, fs.Reordered, examplesSuffix(calls))
	require.Zero(t, failed, "no call fails on a slow, lossy network: %s", calls)
	require.Positive(t, fs.Lost, "the run saw losses")
}

// TestBlackhole takes the server's link down under load with client
// keepalive on (Time 2 s, Timeout 1 s): the dead connection is detected
// within Time + Timeout (+ a margin), calls fail UNAVAILABLE, and the client
// recovers once the link is back.
func TestBlackhole(t *testing.T) {
	const kaTime, kaTimeout = 2 * time.Second, time.Second
	const margin = 750 * time.Millisecond
	hold := pick(5*time.Second, 30*time.Second)
	ns := serverNetns(t)
	srv := startServer(t, ns.name, "h2rpcserver", "-listen", ns.serverIP+":0", "-stats", ns.serverIP+":0")
	cc := newClient(t, srv.rpcAddr, rpc.WithKeepaliveParams(rpc.ClientParameters{
		Time: kaTime, Timeout: kaTimeout, PermitWithoutStream: true,
	}))
	client := testpb.NewTestServiceClient(cc)
	ctx := context.Background()
	require.NoError(t, unaryCall(ctx, client, rpc.WaitForReady(true)))

	// An open stream that the blackhole breaks: when it fails is when the
	// client detected the dead connection.
	probe, err := client.FullDuplexCall(ctx)
	require.NoError(t, err)
	require.NoError(t, probe.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1}}}))
	_, err = probe.Recv()
	require.NoError(t, err)

	// Workers keep calling throughout (not wait-for-ready: they see the outage).
	type outcome struct {
		at   time.Time
		code codes.Code
		msg  string
	}
	var mu sync.Mutex
	var outcomes []outcome
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wctx.Err() == nil {
				cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				err := unaryCall(cctx, client)
				cancel()
				mu.Lock()
				outcomes = append(outcomes, outcome{time.Now(), status.Code(err), errString(err)})
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)

	down := time.Now()
	ns.setLink(t, false)
	detected := make(chan error, 1)
	go func() {
		_, err := probe.Recv()
		detected <- err
	}()
	var detectErr error
	var detectAfter time.Duration
	select {
	case detectErr = <-detected:
		detectAfter = time.Since(down)
	case <-time.After(hold):
		detectAfter = -1
	}
	if rest := hold - time.Since(down); rest > 0 {
		time.Sleep(rest)
	}
	up := time.Now()
	ns.setLink(t, true)
	var recoveredAfter time.Duration = -1
	for time.Since(up) < 15*time.Second {
		mu.Lock()
		last := outcomes[len(outcomes)-1]
		mu.Unlock()
		if last.code == codes.OK && last.at.After(up) {
			recoveredAfter = last.at.Sub(up)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if detectAfter < 0 {
		<-detected // the stream ends when the client closes
	}

	during := newTally()
	for _, o := range outcomes {
		if o.at.After(down) && o.at.Before(up) {
			during.add("unary", status.Error(o.code, o.msg))
		}
	}
	failed, onlyUnavailable := during.failed(codes.Unavailable)
	report(t, "veth link down for %s, keepalive Time %s Timeout %s: dead connection detected after %s (bound %s) with %v (%s); "+
		"calls during the outage: %s; first OK call %s after the link returned",
		hold, kaTime, kaTimeout, durationOrNever(detectAfter), kaTime+kaTimeout+margin, status.Code(detectErr), errString(detectErr),
		during, durationOrNever(recoveredAfter))
	require.Positive(t, detectAfter, "the blackholed connection is detected before the link returns")
	require.LessOrEqual(t, detectAfter, kaTime+kaTimeout+margin, "detected within keepalive Time + Timeout")
	require.Equal(t, codes.Unavailable, status.Code(detectErr), "a silent network ends the open stream with UNAVAILABLE: %v", detectErr)
	require.Positive(t, failed, "calls failed during the outage")
	require.True(t, onlyUnavailable, "calls during the outage fail UNAVAILABLE: %s\n%s", during, during.examples())
	require.Positive(t, recoveredAfter, "the client recovers when the network returns")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func durationOrNever(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}
