package rpc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
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
	// retryMu serializes retryAfter, which SendMsg and waitHeader may call
	// at once; policy is the call's progress through its service config's
	// retry policy (serviceconfig_retry.go), guarded by it.
	retryMu sync.Mutex
	policy  retryState
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

// response waits for the call's response headers, opening the call again
// (retryAfter) while its attempts fail in a way a retry covers.
func (r *streamRetry) response(cs *clientStream) (h2.Header, error) {
	for {
		st := cs.stream()
		h, err := st.Response(context.Background())
		if err == nil && !failedTrailersOnly(h) {
			return h, nil
		}
		goesOn, rerr := r.retryAfter(cs, st, h, err)
		if rerr != nil {
			return nil, rerr
		}
		if !goesOn {
			return h, err
		}
	}
}

// failedTrailersOnly reports whether h is a trailers-only response with a
// status other than OK.
func failedTrailersOnly(h h2.Header) bool {
	s := h.Get("grpc-status")
	return s != "" && s != "0"
}

// goesOn reports whether a streaming call continues after its stream st
// ended or failed a write with err: a transparent retry is pending, or the
// retry policy covers the attempt's outcome and the call has been opened
// again. SendMsg asks, so that it neither gives up (io.EOF) on a call that a
// retry will carry on, nor loses the message it was sending.
func (r *streamRetry) goesOn(cs *clientStream, st *h2.Stream, err error) bool {
	if r.replays(err) {
		return true
	}
	if cs.mc == nil || cs.mc.retry == nil || !st.InboundEnded() || !r.keeping() {
		return false
	}
	h, rerr := st.Response(noWait)
	if rerr == nil && !failedTrailersOnly(h) {
		return false // committed
	}
	ok, _ := r.retryAfter(cs, st, h, rerr)
	return ok
}

// retryAfter opens the call again after its stream st failed (err) or
// answered trailers-only with an error (h), when the server never processed
// it (transparent) or the retry policy covers the attempt and its messages
// are still kept, after the policy's delay. SendMsg and waitHeader may both
// find st failed: the first one retries, the other finds the call moved on
// to a new stream and reports that it goes on.
func (r *streamRetry) retryAfter(cs *clientStream, st *h2.Stream, h h2.Header, err error) (bool, error) {
	r.retryMu.Lock()
	defer r.retryMu.Unlock()
	if cs.stream() != st {
		return true, nil
	}
	var delay time.Duration
	switch {
	case err != nil && r.canRetry(cs, err):
		// The server never processed the stream: as for unary calls.
	case cs.mc != nil && cs.mc.retry != nil && r.keeping() && cs.ctx.Err() == nil:
		pb, hasPB := pushbackOf(st, h)
		d, ok := r.policy.next(cs.sc, cs.mc, attemptStatus(h, err), false, pb, hasPB)
		if !ok {
			return false, nil
		}
		delay = d
	default:
		return false, nil
	}
	if !sleepCtx(cs.ctx, delay) {
		return false, nil
	}
	if err := r.reopen(cs); err != nil {
		return false, err
	}
	return true, nil
}

// attemptStatus is the status a failed attempt ended with, without
// recording anything on the call.
func attemptStatus(h h2.Header, err error) error {
	if err != nil {
		return toStatusError(err)
	}
	n, perr := strconv.ParseUint(h.Get("grpc-status"), 10, 32)
	if perr != nil {
		return status.Error(codes.Internal, "rpc: malformed grpc-status")
	}
	return status.Error(codes.Code(n), decodeGrpcMessage(h.Get("grpc-message")))
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
	sess, done, err := cs.cc.pickFor(cs.ctx, cs.method, &cs.ci)
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
	cs.er.r = st
	if cs.ci.peer != nil {
		*cs.ci.peer = *peerOf(sess)
	}
	cs.watch(st) // before the writes, which a cancel must be able to end
	// Last: a receiver that loads the new stream sees the fields above.
	cs.cur.Store(st)
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
	return !cs.retry.goesOn(cs, st, st.Err())
}
