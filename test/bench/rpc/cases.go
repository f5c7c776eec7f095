package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// timing is how long each case warms up and then measures.
type timing struct {
	warmup, measure time.Duration
}

// Sizes and counts the cases use.
const (
	concurrency  = 64
	streamMsg    = 1024
	pingPongMsg  = 1 << 20
	idleStreams  = 1000
	busyStreams  = 10
	idlePokeTick = time.Millisecond
)

// Metric keys, in table order.
const (
	mUnaryP50    = "unary_p50"
	mUnaryAllocs = "unary_allocs"
	mUnary64     = "unary64_qps"
	mStream      = "stream_msgs"
	mPingPong    = "pingpong_bytes"
	mIdleP99     = "idle_p99"
)

// benchCase measures one or more metrics of a target.
type benchCase struct {
	name string
	run  func(ctx context.Context, t target, tm timing) (map[string]float64, error)
}

var benchCases = []benchCase{
	{"unary", unaryLatency},
	{"unary64", unaryConcurrent},
	{"stream", serverStreaming},
	{"pingpong", pingPong},
	{"idle", idleAndBusy},
}

var tinyReq = &testpb.SimpleRequest{ResponseSize: 1, Payload: &testpb.Payload{Body: []byte{0}}}

// unaryLatency makes 1-byte unary calls one at a time: p50 latency and
// allocations per call (client and server together, from the runtime's
// malloc count).
func unaryLatency(ctx context.Context, t target, tm timing) (map[string]float64, error) {
	for end := time.Now().Add(tm.warmup); time.Now().Before(end); {
		if _, err := t.Unary(ctx, tinyReq); err != nil {
			return nil, err
		}
	}
	// Preallocated so that recording adds no mallocs to the count.
	lat := make([]time.Duration, 0, 1<<21)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	end := time.Now().Add(tm.measure)
	for len(lat) < cap(lat) {
		start := time.Now()
		if _, err := t.Unary(ctx, tinyReq); err != nil {
			return nil, err
		}
		now := time.Now()
		lat = append(lat, now.Sub(start))
		if now.After(end) {
			break
		}
	}
	runtime.ReadMemStats(&after)
	return map[string]float64{
		mUnaryP50:    float64(percentile(lat, 0.50)),
		mUnaryAllocs: float64(after.Mallocs-before.Mallocs) / float64(len(lat)),
	}, nil
}

// window runs work on n goroutines through the warm-up and the measurement
// and returns the operations per second counted in the measurement window.
// work returns how many operations it did, or an error that stops the case.
func window(ctx context.Context, tm timing, n int, work func(ctx context.Context, i int) (int64, error)) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ops atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				k, err := work(ctx, i)
				if err != nil {
					if ctx.Err() == nil {
						errc <- err
						cancel()
					}
					return
				}
				ops.Add(k)
			}
		})
	}
	sleep(ctx, tm.warmup)
	start, c0 := time.Now(), ops.Load()
	sleep(ctx, tm.measure)
	elapsed, c1 := time.Since(start), ops.Load()
	cancel()
	wg.Wait()
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	return float64(c1-c0) / elapsed.Seconds(), nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// unaryConcurrent makes 1-byte unary calls from 64 goroutines over the one
// connection: calls per second.
func unaryConcurrent(ctx context.Context, t target, tm timing) (map[string]float64, error) {
	qps, err := window(ctx, tm, concurrency, func(ctx context.Context, _ int) (int64, error) {
		_, err := t.Unary(ctx, tinyReq)
		return 1, err
	})
	return map[string]float64{mUnary64: qps}, err
}

// serverStreaming receives 1 KiB messages from one server stream: messages
// per second.
func serverStreaming(ctx context.Context, t target, tm timing) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: streamMsg}}}
	recv, err := t.StreamOut(ctx, req)
	if err != nil {
		return nil, err
	}
	rate, err := window(ctx, tm, 1, func(context.Context, int) (int64, error) {
		m, err := recv()
		if err == nil && len(m.GetPayload().GetBody()) != streamMsg {
			err = fmt.Errorf("streamed message of %d bytes, want %d", len(m.GetPayload().GetBody()), streamMsg)
		}
		return 1, err
	})
	return map[string]float64{mStream: rate}, err
}

func echoReq(size int) *testpb.StreamingOutputCallRequest {
	return &testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{Size: int32(size)}},
		Payload:            &testpb.Payload{Body: zeroBuf[:size]},
	}
}

// roundTrip sends req on s and waits for the answer.
func roundTrip(s bidi, req *testpb.StreamingOutputCallRequest) error {
	if err := s.Send(req); err != nil {
		return err
	}
	m, err := s.Recv()
	if err != nil {
		return err
	}
	if want := int(req.ResponseParameters[0].Size); len(m.GetPayload().GetBody()) != want {
		return fmt.Errorf("response of %d bytes, want %d", len(m.GetPayload().GetBody()), want)
	}
	return nil
}

// pingPong bounces 1 MiB messages on one bidi stream: payload bytes per
// second, both directions counted.
func pingPong(ctx context.Context, t target, tm timing) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := t.Duplex(ctx)
	if err != nil {
		return nil, err
	}
	req := echoReq(pingPongMsg)
	rate, err := window(ctx, tm, 1, func(context.Context, int) (int64, error) {
		return 2 * pingPongMsg, roundTrip(s, req)
	})
	return map[string]float64{mPingPong: rate}, err
}

// idleAndBusy opens 1,000 bidi streams that stay mostly idle (one of them
// does a round trip every millisecond) beside 10 busy streams doing 1-byte
// round trips: the busy streams' p99 round-trip latency.
func idleAndBusy(ctx context.Context, t target, tm timing) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	small := echoReq(1)
	idle := make([]bidi, 0, idleStreams)
	for range idleStreams {
		s, err := t.Duplex(ctx)
		if err != nil {
			return nil, fmt.Errorf("opening idle stream %d: %w", len(idle), err)
		}
		// One round trip makes sure the stream really is open on the server.
		if err := roundTrip(s, small); err != nil {
			return nil, fmt.Errorf("idle stream %d: %w", len(idle), err)
		}
		idle = append(idle, s)
	}
	var wg sync.WaitGroup
	errc := make(chan error, busyStreams+1)
	wg.Go(func() {
		tick := time.NewTicker(idlePokeTick)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := roundTrip(idle[i%len(idle)], small); err != nil {
				if ctx.Err() == nil {
					errc <- fmt.Errorf("idle stream: %w", err)
				}
				return
			}
		}
	})
	var measuring atomic.Bool
	lats := make([][]time.Duration, busyStreams)
	for i := range busyStreams {
		s, err := t.Duplex(ctx)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				if err := roundTrip(s, small); err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("busy stream: %w", err)
					}
					return
				}
				if measuring.Load() {
					lats[i] = append(lats[i], time.Since(start))
				}
			}
		})
	}
	sleep(ctx, tm.warmup)
	measuring.Store(true)
	sleep(ctx, tm.measure)
	measuring.Store(false)
	cancel()
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	all := slices.Concat(lats...)
	if len(all) == 0 {
		return nil, errors.New("no busy round trip completed")
	}
	return map[string]float64{mIdleP99: float64(percentile(all, 0.99))}, nil
}

// percentile sorts d and returns the value at fraction q.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q * float64(len(d)-1))
	return d[i]
}
