package rpc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

// Transparent retry of streaming calls. A stream the server never processed
// (REFUSED_STREAM, or above the last stream id of a GOAWAY) is safe to send
// again, as unary calls are (invoke). A streaming call keeps the messages it
// sent until the response headers arrive, which prove the server took the
// call, and sends them again on a new stream if the first one turns out
// unprocessed. The kept messages are the encoded buffers SendMsg made
// anyway, so keeping them costs no copy; past maxReplayBytes the call stops
// keeping them and is no longer retried.

// maxReplayBytes bounds what a streaming call keeps for a transparent retry.
const maxReplayBytes = 256 << 10

// streamRetry is a streaming call's retry state. Its mutex is never held
// across a Write of SendMsg's, only across the replay itself.
type streamRetry struct {
	mu      sync.Mutex
	on      bool // still keeping: no response headers yet, within the bound
	hdr     h2.Header
	msgs    []*[]byte
	bytes   int
	closed  bool // CloseSend was called: the replay ends the stream too
	retries int
	// writing is set while SendMsg writes the newest kept buffer, which a
	// commit must not recycle under it; orphan is that buffer once a commit
	// dropped it, for SendMsg to recycle when its write returns.
	writing bool
	orphan  *[]byte
	// done mirrors !on once keeping has stopped for good, for SendMsg to see
	// without the lock: keeping only ever stops (start runs before the call
	// is returned), and it stops after any replay, so a send that sees done
	// has the current stream.
	done atomic.Bool
	// policy is the call's progress through its service config's retry
	// policy (serviceconfig_retry.go); waitHeader's goroutine only.
	policy retryState
}

// start begins keeping the messages of a streaming call opened with hdr.
func (r *streamRetry) start(hdr h2.Header) {
	r.on, r.hdr = true, hdr
}

// keep returns the stream to write bp to, and whether bp is kept for a
// replay (then the caller must not recycle it). The stream is chosen under
// the lock that a replay holds, so bp is written once: by the caller to the
// new stream, or by the replay.
func (r *streamRetry) keep(cs *clientStream, bp *[]byte) (*h2.Stream, bool) {
	if r.done.Load() {
		return cs.stream(), false // a committed call's sends take no lock here
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := cs.stream()
	if !r.on {
		return st, false
	}
	if r.bytes+len(*bp) > maxReplayBytes {
		// Too much to keep: this call will not be retried. The sending
		// goroutine is the one here, so none of the kept buffers is being
		// written: they go back to the pool.
		for _, kept := range r.msgs {
			sendBufs.put(kept)
		}
		r.dropLocked()
		return st, false
	}
	r.msgs = append(r.msgs, bp)
	r.bytes += len(*bp)
	r.writing = true
	return st, true
}

// written tells that SendMsg's write of the kept bp has returned; if a
// commit dropped bp meanwhile, it goes back to the pool now.
func (r *streamRetry) written(bp *[]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writing = false
	if r.orphan == bp {
		r.orphan = nil
		sendBufs.put(bp)
	}
}

// closeSend records CloseSend for a replay and returns the stream to end.
func (r *streamRetry) closeSend(cs *clientStream) *h2.Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return cs.stream()
}

// replays reports whether a failed write will be made good by a retry.
func (r *streamRetry) replays(err error) bool {
	if !errors.Is(err, h2.ErrUnprocessed) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on
}

// canRetry reports whether the call may open its stream again after err.
func (r *streamRetry) canRetry(cs *clientStream, err error) bool {
	if !errors.Is(err, h2.ErrUnprocessed) || cs.ctx.Err() != nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on && r.retries < cs.cc.cfg.maxRetries
}

// response waits for the call's response headers. While the server never
// processed the stream (transparent retry), or the attempt failed before
// any header or with a trailers-only status that the retry policy covers,
// it opens the stream again, after the policy's delay, and replays what
// was sent, as long as the messages are still kept.
func (r *streamRetry) response(cs *clientStream) (h2.Header, error) {
	h, err := cs.stream().Response(context.Background())
	for {
		var delay time.Duration
		switch {
		case err != nil && r.canRetry(cs, err):
			// The server never processed the stream: as for unary calls.
		case cs.mc != nil && cs.mc.retry != nil && r.keeping() && cs.ctx.Err() == nil &&
			(err != nil || h.Get("grpc-status") != "" && h.Get("grpc-status") != "0"):
			aerr := err
			if aerr == nil {
				aerr = cs.statusFrom(h)
			} else {
				aerr = toStatusError(aerr)
			}
			pb, hasPB := pushbackOf(cs.stream(), h)
			d, ok := r.policy.next(cs.sc, cs.mc, aerr, false, pb, hasPB)
			if !ok {
				return h, err
			}
			delay = d
		default:
			return h, err
		}
		if !sleepCtx(cs.ctx, delay) {
			return h, err
		}
		if err = r.reopen(cs); err == nil {
			h, err = cs.stream().Response(context.Background())
		} else {
			h = nil
		}
	}
}

// keeping reports whether the call still keeps its messages for a replay.
func (r *streamRetry) keeping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on
}

// reopen opens a new stream on a ready connection and sends the kept
// messages (and the end, after CloseSend) on it. It runs in waitHeader,
// which alone reads the response, so the swap is seen by every later step.
func (r *streamRetry) reopen(cs *clientStream) error {
	r.mu.Lock()
	r.retries++ // counted before anything can fail, or a failing Request would retry forever
	r.mu.Unlock()
	cs.stopWatch()
	cs.pickDone(errRetried)
	sess, done, err := cs.cc.pickConn(cs.ctx, cs.method, cs.ci.waitForReady)
	if err != nil {
		return err
	}
	cs.done = done
	st, err := sess.Request(cs.ctx, r.hdr, nil)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cs.cur.Store(st)
	cs.er.r = st
	if cs.ci.peer != nil {
		*cs.ci.peer = *peerOf(sess)
	}
	cs.watch(st) // before the writes, which a cancel must be able to end
	for _, bp := range r.msgs {
		if _, err := st.Write(*bp); err != nil {
			return nil // the new stream failed too: its Response says how
		}
	}
	if r.closed {
		_ = st.CloseWrite()
	}
	return nil
}

// commit stops keeping messages: the server has the call (or it is over).
// It runs on the receiving side while SendMsg may still be writing the
// newest kept buffer: that one is recycled by SendMsg when its write
// returns, the others here (a client stream keeps up to maxReplayBytes of
// messages until the response headers come, and leaving them to the GC cost
// an allocation per message).
func (r *streamRetry) commit() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	for i, bp := range r.msgs {
		if i == len(r.msgs)-1 && r.writing {
			r.orphan = bp
			continue
		}
		sendBufs.put(bp)
	}
	r.dropLocked()
}

func (r *streamRetry) dropLocked() {
	r.on = false
	r.done.Store(true)
	r.msgs, r.bytes = nil, 0
}

// ended reports whether the call's stream can take no more messages: its
// response ended, or it failed, unless it failed unprocessed and the call
// will be retried (its messages are kept for the new stream).
func (cs *clientStream) ended() bool {
	st := cs.stream()
	if !st.InboundEnded() {
		return false
	}
	return !cs.retry.replays(st.Err())
}
