package h2

import "os"

// The sending side of a stream: Write with flow-control backpressure, the
// zero-copy path for large bodies, trailers and END_STREAM.

// Write queues p for sending and returns once all of it is buffered (p may be
// reused at once). It blocks while the stream's or the session's send buffer
// is full, which is how flow control pushes back. On a server stream that has
// not responded yet, it first sends ":status 200".
//
// Write, WriteOwned and End may be called from several goroutines at once:
// each call's bytes go out whole and in the order the calls took the stream,
// never split by another's. A Write that waits for room holds the others
// until it returns; one cut short by a reset, a close of the sending side
// (CloseWrite, End without a body) or a deadline says how much of p went.
func (st *Stream) Write(p []byte) (int, error) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.writeLocked(p)
}

// WriteOwned writes *bp like Write, but the caller hands the buffer over
// instead of lending it for the call: a buffer of 64 KiB or more is sent from
// where it is, without a copy, and WriteOwned returns as soon as it is queued
// rather than once it is written, so that the caller can prepare its next
// message while this one goes out (Write would wait for the kernel to take
// the last byte). h2 gives the buffer back with release(bp) once done with
// it: at once for a smaller buffer, which is copied as Write copies it, else
// from the session's writer, with the session locked, so release must be
// quick and must not use the session (putting bp back in a pool is what it
// is for). A stream holds a few such buffers at once (owned_queue.go): up
// to eight waiting to be sent, the one being sent included, while they hold
// under 512 KiB, and two whatever their size, so that the next is there when
// the previous one's write returns; a write beyond that waits for room, as
// does a Write behind them. Buffers the stream still held when it
// failed (reset, session lost) are released then, or once the kernel is done
// with the pieces a write had taken from them.
func (st *Stream) WriteOwned(bp *[]byte, release func(*[]byte)) (int, error) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.writeOwnedLocked(bp, release)
}

func (st *Stream) writeOwnedLocked(bp *[]byte, release func(*[]byte)) (int, error) {
	if len(*bp) >= zeroCopyMin {
		n, err := st.queueOwnedLocked(bp, release)
		if err != nil {
			release(bp) // refused: nothing kept it
		}
		return n, err
	}
	n, err := st.writeLocked(*bp)
	release(bp)
	return n, err
}

// EndOwned is End with the body handed over as WriteOwned hands it: a body
// of 64 KiB or more is sent from *bp without a copy, and EndOwned returns
// once the body and the end of the stream are queued instead of once the
// kernel has taken the body, so that a handler ending a response with a large
// message is free at once. release(bp) is called exactly once, whatever
// happens: on WriteOwned's terms once h2 is done with the buffer, or before
// EndOwned returns when it refuses the body (refused trailers, a closed
// stream).
func (st *Stream) EndOwned(bp *[]byte, release func(*[]byte), trailers Header) (int, error) {
	if len(*bp) < zeroCopyMin {
		// Copied as End copies it; given back outside the session's lock.
		n, err := st.End(*bp, trailers)
		release(bp)
		return n, err
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if trailers != nil {
		if err := st.s.checkSendable(trailers, kindTrailers); err != nil {
			release(bp)
			return 0, st.refuseTrailersLocked(err)
		}
	}
	return st.endLocked(outBody{p: *bp, owned: bp, release: release}, trailers)
}

// outBody is the body that ends a stream (End, EndOwned, Respond and
// Request with a body): lent for the call (p alone), or handed over for
// good (owned, with p = *owned, given back with release as by WriteOwned).
type outBody struct {
	p       []byte
	owned   *[]byte
	release func(*[]byte)
}

// drop gives an owned body back unsent: for the paths that refuse it
// before endLocked takes it.
func (b outBody) drop() {
	if b.owned != nil {
		b.release(b.owned)
	}
}

// End writes p and ends the outbound side in one step, like Node's
// stream.end(chunk): with trailers after the body when trailers is not nil,
// else with END_STREAM on the body's last DATA frame. A body that fits the
// stream's buffer costs one lock round trip and no extra frame, where Write
// then CloseWrite or WriteTrailers take two and often an empty DATA frame.
func (st *Stream) End(p []byte, trailers Header) (int, error) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if trailers != nil {
		// Checked before p is queued: refused trailers send nothing more.
		if err := st.s.checkSendable(trailers, kindTrailers); err != nil {
			return 0, st.refuseTrailersLocked(err)
		}
	}
	return st.endLocked(outBody{p: p}, trailers)
}

// endLocked is End and EndOwned (and the end of a Respond or Request with a
// body or trailers). It gives an owned body back whatever happens.
func (st *Stream) endLocked(body outBody, trailers Header) (int, error) {
	n := 0
	var err error
	switch {
	case body.owned != nil:
		n, err = st.writeOwnedLocked(body.owned, body.release)
	case len(body.p) > 0:
		n, err = st.writeLocked(body.p)
	}
	if err != nil {
		return n, err
	}
	if trailers == nil && st.queued.ended() {
		return n, nil // already ended, as CloseWrite allows
	}
	if err := st.writableLocked(); err != nil {
		return n, err
	}
	if trailers != nil {
		st.outTrailers = trailers
	}
	return n, st.closeWriteLocked()
}

func (st *Stream) writeLocked(p []byte) (int, error) {
	if !st.queued.hasHeaders() && !st.s.client {
		if err := st.respondLocked(Header{{Name: ":status", Value: "200"}}, false); err != nil {
			return 0, err
		}
	}
	for st.zc != nil || st.owned != nil || st.writing {
		// Another Write is under way (it waits for room, or has lent its
		// slice), or WriteOwned buffers are queued: their bytes go out
		// whole, first. Owned buffers have no caller waiting that would
		// give up on a deadline, so this one must. A failed stream ends the
		// wait here too, while the other Write may still wait for its lent
		// pieces to be written: going on would take the sending side from
		// it and count its bytes framed over.
		if err := st.writableLocked(); err != nil {
			return 0, err
		}
		st.writeWaiters++
		st.cond.Wait()
		st.writeWaiters--
	}
	// The stream's sending side is this Write's until it returns, waits
	// included: bytes another goroutine queued while it waited for room
	// would land inside p's, or (pendingLocked sends the buffered bytes
	// first) inside an owned buffer's.
	st.writing = true
	n, err := st.sendLocked(p)
	st.writing = false
	if st.writeWaiters > 0 {
		st.signalLocked()
	}
	return n, err
}

// sendLocked queues p, the stream's sending side being the caller's.
func (st *Stream) sendLocked(p []byte) (int, error) {
	s := st.s
	if len(p) >= zeroCopyMin && st.pendingLen() == 0 {
		return st.writeZeroCopyLocked(p)
	}
	total := 0
	for len(p) > 0 {
		if err := st.writableLocked(); err != nil {
			return total, err
		}
		room := min(s.opts.Limits.StreamWriteBuffer-(len(st.out)-st.outOff), s.opts.Limits.MaxSessionMemory-s.buffered)
		if room <= 0 {
			if s.buffered >= s.opts.Limits.MaxSessionMemory && !st.memBlocked {
				st.memBlocked = true
				s.memWaiters = append(s.memWaiters, st)
			}
			st.writeWaiters++
			st.cond.Wait()
			st.writeWaiters--
			continue
		}
		n := min(room, len(p))
		st.out, st.outOff = appendBuffered(st.out, st.outOff, p[:n])
		s.buffered += n
		p = p[n:]
		total += n
		s.sched.update(s, st)
	}
	return total, nil
}

// zeroCopyMin is the size from which Write lends p to the writer instead of
// copying it: for large bodies one copy (into the frame buffer) instead of two,
// or none where the connection gathers (vectored.go), and Write blocks until
// the last byte is framed (or written, when not copied) anyway.
const zeroCopyMin = 64 << 10

func (st *Stream) writeZeroCopyLocked(p []byte) (int, error) {
	s := st.s
	st.zc, st.zcFramed = p, 0
	s.sched.update(s, st)
	// This waits for the writer, so the writer must be awake: update wakes it
	// only for a stream it can send on, and a stream's headers may still be
	// queued without a wake-up (Request sends it once it lets go of mu).
	s.signalWriter()
	var err error
	for len(st.zc) > 0 || st.zcInFlight > 0 {
		if err == nil && len(st.zc) > 0 {
			if err = st.writableLocked(); err != nil {
				// Stop framing; pieces already framed may still be being
				// written from p, so wait for those before returning it.
				st.zc = nil
				s.sched.update(s, st)
				continue
			}
		}
		st.writeWaiters++
		st.cond.Wait()
		st.writeWaiters--
	}
	st.zc = nil
	n := st.zcFramed
	if n < len(p) && err == nil {
		// A reset or close dropped the rest of the slice.
		if err = st.writableLocked(); err == nil {
			err = ErrStreamClosed
		}
	}
	st.signalLocked() // Writes queued behind this one
	return n, err
}

// pendingLocked is what the stream has to send next: buffered bytes first,
// then a zero-copy Write's slice or the rest of the owned buffer being
// framed (the owned buffers queued behind it follow).
func (st *Stream) pendingLocked() []byte {
	if st.outOff < len(st.out) {
		return st.out[st.outOff:]
	}
	return st.zc
}

// pendingLen is every byte the stream has yet to frame, queued owned
// buffers included, so that END_STREAM goes only on the last of them.
func (st *Stream) pendingLen() int {
	return len(st.out) - st.outOff + len(st.zc) + st.ownedWaitingLen()
}

// consumeLocked drops n bytes that the writer framed from pendingLocked.
func (st *Stream) consumeLocked(n int) {
	if st.outOff < len(st.out) {
		st.outOff += n
		st.s.buffered -= n
		if st.outOff == len(st.out) {
			putStreamBuf(st.out)
			st.out, st.outOff = nil, 0
		}
		return
	}
	st.zc = st.zc[n:]
	st.zcFramed += n
	if st.owned != nil && len(st.zc) == 0 {
		st.ownedFramedLocked()
	}
}

func (st *Stream) writableLocked() error {
	switch {
	case st.err != nil:
		return st.err
	case st.queued.ended():
		return ErrStreamClosed
	case st.deadlinePassedLocked() || st.sidePassedLocked(sideWrite):
		return os.ErrDeadlineExceeded
	}
	return nil
}

// SetTrailers sets the trailers that CloseWrite will send. They are checked
// then: see WriteTrailers.
func (st *Stream) SetTrailers(t Header) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	st.outTrailers = t
}

// WriteTrailers ends the outbound side with trailers. Trailers that break
// RFC 9113 §8.2 (a pseudo-header, a connection-specific or non-lowercase
// name, CR, LF or NUL in a value, ...) are refused with an error matching
// ErrInvalidHeader; if the headers had gone out, the stream is also reset
// with INTERNAL_ERROR, since it can no longer end as it should.
func (st *Stream) WriteTrailers(t Header) error {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if err := st.writableLocked(); err != nil {
		return err
	}
	st.outTrailers = t
	return st.closeWriteLocked()
}

// CloseWrite ends the outbound side (END_STREAM, with trailers if set). A
// server stream that has not responded responds ":status 200" first.
func (st *Stream) CloseWrite() error {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if st.queued.ended() {
		return nil
	}
	if st.err != nil {
		return st.err
	}
	return st.closeWriteLocked()
}

func (st *Stream) closeWriteLocked() error {
	if st.outTrailers != nil {
		if err := st.s.checkSendable(st.outTrailers, kindTrailers); err != nil {
			return st.refuseTrailersLocked(err)
		}
	}
	if !st.queued.hasHeaders() && !st.s.client {
		return st.respondLocked(Header{{Name: ":status", Value: "200"}}, st.outTrailers == nil)
	}
	st.queued.end()
	st.s.sched.update(st.s, st)
	if st.writeWaiters > 0 {
		// Writes waiting for room or for their turn end now, with what
		// went: the window they wait for may never come.
		st.signalLocked()
	}
	return nil
}
