package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// liveBytes is the Go heap in use plus the goroutine stacks, after a
// collection: what a program pays for what it holds open. Client and server
// run in this one process, so a connection or a stream is counted with
// both of its ends.
func liveBytes() uint64 {
	// Two collections: sync.Pool keeps what the first one frees in its
	// victim cache until the second.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// settle waits until the goroutine count has stopped falling for 100 ms
// (two seconds at most): the connections and streams of the case before are
// still closing when a memory case begins, on a loaded machine for a while,
// and what they free as they end would hide this case's growth (the smoke
// run saw grpc-go's idle connections cost 0 bytes).
func settle() {
	n, still := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(2 * time.Second); still < 5 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m < n {
			still = 0
		} else {
			still++
		}
		n = m
	}
}

// perItem is the growth from before to after, per item.
func perItem(before, after uint64, n int) float64 {
	if after < before {
		return 0
	}
	return float64(after-before) / float64(n)
}

// footprint is what the process holds at one moment, in two measures.
type footprint struct {
	live uint64 // Go heap in use plus goroutine stacks (liveBytes)
	rss  uint64 // resident set once free pages went back to the OS (releasedRSS)
}

// measureFootprint takes both measures, live bytes first: its collections
// leave the garbage free for releasedRSS to return to the OS.
func measureFootprint() (footprint, error) {
	live := liveBytes()
	rss, err := releasedRSS()
	return footprint{live: live, rss: rss}, err
}

// growthPer is a memory case's figures: each measure's growth from f to
// after, per item.
func (f footprint) growthPer(after footprint, n int) map[string]float64 {
	return map[string]float64{kMem: perItem(f.live, after.live, n), kRSS: perItem(f.rss, after.rss, n)}
}

// idleConns opens n connections to a server of the case's stack in a
// peer process (startPeer), each made live by one 1-byte call, and reports
// the memory each holds while idle, client and server ends together.
func idleConns(n int) caseFunc {
	return func(ctx context.Context, e *env) (_ map[string]float64, err error) {
		n := e.scale(n, smokeIdle)
		p, err := startPeer(e.st.name)
		if err != nil {
			return nil, err
		}
		clients := make([]client, 0, n)
		defer func() {
			for _, c := range clients {
				c.Close()
			}
			err = errors.Join(err, p.Close())
		}()
		settle()
		before, err := p.bothFootprints()
		if err != nil {
			return nil, err
		}
		for range n {
			c, err := e.st.dial(p.addr, nil)
			if err != nil {
				return nil, fmt.Errorf("idle connection %d: %w", len(clients), err)
			}
			clients = append(clients, c)
			if err := unaryOnce(ctx, c, 1); err != nil {
				return nil, fmt.Errorf("idle connection %d: %w", len(clients)-1, err)
			}
		}
		after, err := p.bothFootprints()
		if err != nil {
			return nil, err
		}
		return before.growthPer(after, n), nil
	}
}

// idleStreams opens n bidi streams on the case's one connection, each made
// live by one 1-byte round trip, and reports the memory each holds while
// idle.
func idleStreams(n int) caseFunc {
	return func(ctx context.Context, e *env) (map[string]float64, error) {
		n := e.scale(n, smokeIdle)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		streams := make([]bidi, 0, n)
		settle()
		before, err := measureFootprint()
		if err != nil {
			return nil, err
		}
		for range n {
			s, err := e.t.Duplex(ctx)
			if err != nil {
				return nil, fmt.Errorf("idle stream %d: %w", len(streams), err)
			}
			if err := s.Send(echoReq(1)); err != nil {
				return nil, fmt.Errorf("idle stream %d: %w", len(streams), err)
			}
			if err := recvSized(s, 1); err != nil {
				return nil, fmt.Errorf("idle stream %d: %w", len(streams), err)
			}
			streams = append(streams, s)
		}
		after, err := measureFootprint()
		if err != nil {
			return nil, err
		}
		for _, s := range streams {
			if err := endStream(s); err != nil {
				return nil, err
			}
		}
		return before.growthPer(after, n), nil
	}
}
