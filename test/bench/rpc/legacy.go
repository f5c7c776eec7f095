package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
)

// The legacy cases are the shapes the README's first table was measured
// on, kept so that it can still be compared: one endless server stream
// whose server reuses its response, one endless 1 MiB ping-pong stream, and
// 1,000 idle streams beside 10 busy ones. They run only when -case names
// them ("legacy" selects all three).

const (
	legacyIdleStreams = 1000
	legacyBusyStreams = 10
	legacyIdlePoke    = time.Millisecond
)

// legacyStream receives 1 KiB messages from one endless server stream:
// messages/s.
func legacyStream(ctx context.Context, e *env) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1024}}}
	recv, err := e.t.StreamOut(ctx, req)
	if err != nil {
		return nil, err
	}
	t, err := window(ctx, e.tm, 1, nil, func(_ context.Context, _ int, done func(int)) error {
		m, err := recv()
		if err == nil && len(m.GetPayload().GetBody()) != 1024 {
			err = fmt.Errorf("streamed message of %d bytes, want 1024", len(m.GetPayload().GetBody()))
		}
		done(1)
		return err
	})
	return t.metrics(), err
}

// legacyPingPong bounces 1 MiB messages on one bidi stream that stays open:
// payload MiB per second, both directions counted, as the old table had it.
func legacyPingPong(ctx context.Context, e *env) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := e.t.Duplex(ctx)
	if err != nil {
		return nil, err
	}
	req := echoReq(1 << 20)
	t, err := window(ctx, e.tm, 1, nil, func(_ context.Context, _ int, done func(int)) error {
		if err := s.Send(req); err != nil {
			return err
		}
		if err := recvSized(s, 1<<20); err != nil {
			return err
		}
		done(2) // MiB, one each way
		return nil
	})
	return map[string]float64{kRate: t.rate}, err
}

// legacyIdleBusy opens 1,000 bidi streams that stay mostly idle (one of
// them does a round trip every millisecond) beside 10 busy streams doing
// 1-byte round trips: the busy streams' p99 round-trip latency.
func legacyIdleBusy(ctx context.Context, e *env) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := make([]bidi, 0, legacyIdleStreams)
	for range e.scale(legacyIdleStreams, smokeIdle) {
		s, err := e.t.Duplex(ctx)
		if err != nil {
			return nil, fmt.Errorf("opening idle stream %d: %w", len(idle), err)
		}
		if err := roundTrip(s, 1); err != nil {
			return nil, fmt.Errorf("idle stream %d: %w", len(idle), err)
		}
		idle = append(idle, s)
	}
	var wg sync.WaitGroup
	errc := make(chan error, legacyBusyStreams+1)
	wg.Go(func() {
		tick := time.NewTicker(legacyIdlePoke)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := roundTrip(idle[i%len(idle)], 1); err != nil {
				if ctx.Err() == nil {
					errc <- fmt.Errorf("idle stream: %w", err)
				}
				return
			}
		}
	})
	var measuring atomic.Bool
	var measured atomic.Int64
	lats := make([][]time.Duration, legacyBusyStreams)
	for i := range legacyBusyStreams {
		s, err := e.t.Duplex(ctx)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				if err := roundTrip(s, 1); err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("busy stream: %w", err)
					}
					return
				}
				if measuring.Load() {
					lats[i] = append(lats[i], time.Since(start))
					measured.Add(1)
				}
			}
		})
	}
	sleep(ctx, e.tm.warmup)
	measuring.Store(true)
	start := time.Now()
	sleep(ctx, e.tm.measure)
	// As window does: a slow machine (the race detector, a loaded CI box)
	// may finish no round trip in a short window; it waits for the first,
	// up to maxWindow, rather than report none.
	for measured.Load() == 0 && ctx.Err() == nil && time.Since(start) < maxWindow {
		sleep(ctx, time.Millisecond)
	}
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
	return map[string]float64{kP99: float64(percentile(all, 0.99))}, nil
}

func roundTrip(s bidi, size int) error {
	if err := s.Send(echoReq(size)); err != nil {
		return err
	}
	return recvSized(s, size)
}
