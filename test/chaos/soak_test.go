//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/test/chaos/internal/procstat"
	"github.com/stretchr/testify/require"
)

// TestSoak runs mixed calls of every kind against one server process and
// samples its live heap, RSS and goroutines every second: no call may end
// with anything but OK, and neither heap nor goroutines may grow the way a
// leak does.
func TestSoak(t *testing.T) {
	duration := pick(20*time.Second, 3*time.Minute)
	const workers = 8
	srv := startServer(t, "", "h2rpcserver")
	cc := newClient(t, srv.rpcAddr)
	client := testpb.NewTestServiceClient(cc)
	require.NoError(t, unaryCall(context.Background(), client))
	base := srv.stats(t, true)

	calls := newTally()
	kinds := []struct {
		name string
		call func(context.Context, testpb.TestServiceClient, *rand.Rand) error
	}{
		{"unary", soakUnary}, {"client-stream", soakClientStream},
		{"server-stream", soakServerStream}, {"bidi", soakBidi},
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 42))
			for n := i; ctx.Err() == nil; n++ {
				k := kinds[n%len(kinds)]
				cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
				calls.add(k.name, k.call(cctx, client, rnd))
				ccancel()
			}
		}()
	}

	var samples []procstat.Sample
	var at []float64 // seconds since start
	start := time.Now()
	tick := time.NewTicker(time.Second)
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			samples = append(samples, srv.stats(t, true))
			at = append(at, time.Since(start).Seconds())
		case <-ctx.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	time.Sleep(time.Second) // let the last calls' goroutines end
	after := srv.stats(t, true)

	// Slopes over the run after the first quarter (warm-up: pools fill,
	// the heap target settles).
	from := len(samples) / 4
	heapSlope := slope(at[from:], samples[from:], func(s procstat.Sample) float64 { return float64(s.HeapAlloc) })
	rssSlope := slope(at[from:], samples[from:], func(s procstat.Sample) float64 { return float64(s.RSS) })
	grSlope := slope(at[from:], samples[from:], func(s procstat.Sample) float64 { return float64(s.Goroutines) })
	maxG := 0
	for _, s := range samples {
		maxG = max(maxG, s.Goroutines)
	}
	warm := samples[from]
	last := samples[len(samples)-1]
	failed, _ := calls.failed()
	report(t, "%d workers for %s: %s; live heap %s → %s (slope %s/min), RSS %s → %s (slope %s/min), "+
		"goroutines %d → max %d under load (slope %.2f/min) → %d after%s",
		workers, duration, calls, mib(float64(warm.HeapAlloc)), mib(float64(last.HeapAlloc)), mib(heapSlope*60),
		mib(float64(warm.RSS)), mib(float64(last.RSS)), mib(rssSlope*60),
		base.Goroutines, maxG, grSlope*60, after.Goroutines, examplesSuffix(calls))

	require.Zero(t, failed, "every soak call ends OK: %s", calls)
	// A leak of one goroutine or a kilobyte per call (over 10,000 calls
	// per run) breaks these bounds; the noise of a healthy server does not.
	require.LessOrEqual(t, maxG, base.Goroutines+workers*4+64, "goroutines under load are bounded by the calls in flight")
	// Once the calls end, what stays is the session's and any pooled
	// handler goroutines (one per worker at most), not one per call.
	require.LessOrEqual(t, after.Goroutines, base.Goroutines+2*workers+16, "goroutines return to where they were once the calls end")
	require.LessOrEqual(t, last.HeapAlloc, 2*max(warm.HeapAlloc, 8<<20), "the live heap does not keep growing")
	require.LessOrEqual(t, after.HeapAlloc, 2*max(base.HeapAlloc, 8<<20), "the live heap returns once the calls end")
}

// slope is the least-squares slope of f(samples) over x, per unit of x.
func slope(x []float64, samples []procstat.Sample, f func(procstat.Sample) float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i, xi := range x {
		y := f(samples[i])
		sx, sy, sxx, sxy = sx+xi, sy+y, sxx+xi*xi, sxy+xi*y
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// size is a payload size from 1 B to limit, log-uniform so that small and
// large messages both appear often.
func size(rnd *rand.Rand, limit int) int {
	n := 1 << rnd.IntN(17) // 1 .. 64 Ki
	n += rnd.IntN(n)
	return min(n, limit)
}

func soakUnary(ctx context.Context, c testpb.TestServiceClient, rnd *rand.Rand) error {
	want := size(rnd, 64<<10)
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{
		ResponseSize: int32(want),
		Payload:      &testpb.Payload{Body: make([]byte, size(rnd, 64<<10))},
	})
	if err != nil {
		return err
	}
	if got := len(resp.GetPayload().GetBody()); got != want {
		return fmt.Errorf("unary response of %d bytes, asked %d", got, want)
	}
	return nil
}

func soakClientStream(ctx context.Context, c testpb.TestServiceClient, rnd *rand.Rand) error {
	st, err := c.StreamingInputCall(ctx)
	if err != nil {
		return err
	}
	total := 0
	for range 4 {
		n := size(rnd, 16<<10)
		total += n
		if err := st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
			break // the status comes from CloseAndRecv
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return err
	}
	if int(resp.GetAggregatedPayloadSize()) != total {
		return fmt.Errorf("client stream aggregated %d bytes, sent %d", resp.GetAggregatedPayloadSize(), total)
	}
	return nil
}

func soakServerStream(ctx context.Context, c testpb.TestServiceClient, rnd *rand.Rand) error {
	params := make([]*testpb.ResponseParameters, 4)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: int32(size(rnd, 16<<10))}
	}
	st, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		_, err := st.Recv()
		if errors.Is(err, io.EOF) {
			if i != len(params) {
				return fmt.Errorf("server stream ended after %d of %d responses", i, len(params))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func soakBidi(ctx context.Context, c testpb.TestServiceClient, rnd *rand.Rand) error {
	st, err := c.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	for range 4 {
		req := &testpb.StreamingOutputCallRequest{
			ResponseParameters: []*testpb.ResponseParameters{{Size: int32(size(rnd, 16<<10))}},
			Payload:            &testpb.Payload{Body: make([]byte, size(rnd, 16<<10))},
		}
		if err := st.Send(req); err != nil {
			break // the status comes from Recv
		}
		if _, err := st.Recv(); err != nil {
			return err
		}
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errors.New("bidi: a response after the last one")
		}
		return err
	}
	return nil
}
