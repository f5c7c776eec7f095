package h2

import "sync"

// A stream's WriteOwned buffers of zeroCopyMin bytes or more. The stream
// holds a few at once, in send order, so that a sender of large messages
// queues message N+1 while N is being written: when N's writev returns, the
// writer frames N+1 at once instead of finding nothing to send, parking, and
// waiting for the sender to be woken and hand N+1 over (one such hand-off
// between every two messages when a stream held one buffer at a time).
//
// bufs[:framed] have every byte framed (or dropped when the stream failed)
// and wait only for the kernel to be done with them (st.zcInFlight); they
// are given back together once no piece is in flight. bufs[framed], if any,
// is the buffer st.zc is the unframed rest of; the ones after it wait whole.

// How many owned buffers may wait to be framed (the one being framed
// included): always ownedAheadMin, one to frame while the previous is
// written and one more for a sender that runs ahead; beyond that, while
// those waiting hold less than ownedAheadBytes, up to ownedAheadMax. A sender
// of 64 KiB messages so runs eight ahead, which keeps the writer fed through
// the sender's own pauses (a collection's assist, a thread taken off its
// CPU): with two, 1 stream × 10,000 × 64 KiB sent 13-24 % fewer messages a
// second, client or server streaming alike. A sender of 1 MiB messages stays
// at two. A peer that stops reading or gives no window holds the stream's
// sender at that many, not at what it can marshal. The bound counts the
// messages' bytes, not the capacity of the buffers behind them: rpc's pool
// rounds a buffer up to a power of two, so eight messages of a 64 KiB
// payload (a few bytes over 64 KiB with their framing) pin eight 128 KiB
// buffers, 1 MiB per stalled stream, and two 1 MiB ones two 2 MiB buffers.
const (
	ownedAheadMin   = 2
	ownedAheadMax   = 8
	ownedAheadBytes = 512 << 10
)

// ownedHeld bounds the buffers a stream holds in all, framed ones waiting
// for their writev included: the writer may let go of the session's lock
// while it gathers one write (to encode headers, to yield), and buffers
// queued then are framed into the same write.
const ownedHeld = 2 * ownedAheadMax

type ownedBuf struct {
	bp      *[]byte
	release func(*[]byte)
}

type ownedQueue struct {
	bufs   [ownedHeld]ownedBuf
	n      int
	framed int
}

// ownedQueues keeps queues between uses: a stream needs one only while it
// holds large owned buffers, and most streams never do.
var ownedQueues = sync.Pool{New: func() any { return new(ownedQueue) }}

// ownedRoomLocked reports whether the stream can take one more owned buffer
// now: no Write may be under way (its bytes would be split around the
// buffer), none of its bytes may be queued behind a lent Write's slice, and
// the queue has room.
func (st *Stream) ownedRoomLocked() bool {
	if st.writing {
		return false
	}
	q := st.owned
	if q == nil {
		return st.zc == nil
	}
	waiting := q.n - q.framed
	if q.n >= ownedHeld || waiting >= ownedAheadMax {
		return false
	}
	// The buffers not yet wholly framed count whole: room then changes only
	// when one is framed or given back, where waiting senders are woken.
	return waiting < ownedAheadMin || q.bytesFrom(q.framed) < ownedAheadBytes
}

// bytesFrom is the size of the queued buffers from bufs[i] on (none when
// i is past the last).
func (q *ownedQueue) bytesFrom(i int) int {
	if i >= q.n {
		return 0
	}
	n := 0
	for _, b := range q.bufs[i:q.n] {
		n += len(*b.bp)
	}
	return n
}

// queueOwnedLocked takes a large owned buffer for sending after everything
// the stream has queued, waiting while the queue is full. It returns an
// error, keeping nothing, when the stream cannot send.
func (st *Stream) queueOwnedLocked(bp *[]byte, release func(*[]byte)) (int, error) {
	s := st.s
	if !st.queued.hasHeaders() && !s.client {
		if err := st.respondLocked(Header{{Name: ":status", Value: "200"}}, false); err != nil {
			return 0, err
		}
	}
	for {
		// Checked on every turn: a sender waiting for room has a deadline
		// of its own, which the buffers ahead of it do not wait on.
		if err := st.writableLocked(); err != nil {
			return 0, err
		}
		if st.ownedRoomLocked() {
			break
		}
		st.writeWaiters++
		st.cond.Wait()
		st.writeWaiters--
	}
	q := st.owned
	if q == nil {
		q = ownedQueues.Get().(*ownedQueue)
		st.owned = q
	}
	q.bufs[q.n] = ownedBuf{bp: bp, release: release}
	q.n++
	if st.zc == nil {
		// Nothing is being framed: this buffer is next.
		st.zc = *bp
	}
	s.sched.update(s, st)
	// The writer must be awake: update wakes it only for a stream it can
	// send on, and the stream's headers may still be queued without a
	// wake-up (Request sends it once it lets go of mu).
	s.signalWriter()
	return len(*bp), nil
}

// ownedWaitingLen is the bytes of the owned buffers queued behind the one
// being framed: pending too, though not yet in st.zc.
func (st *Stream) ownedWaitingLen() int {
	q := st.owned
	if q == nil {
		return 0
	}
	return q.bytesFrom(q.framed + 1)
}

// ownedFramedLocked runs once the writer has framed the last byte of the
// buffer being framed: the next one, if queued, is framed from now on.
func (st *Stream) ownedFramedLocked() {
	q := st.owned
	q.framed++
	st.zc = nil
	if q.framed < q.n {
		st.zc = *q.bufs[q.framed].bp
	}
	if st.writeWaiters > 0 && st.ownedRoomLocked() {
		// A sender waiting for room may queue its next buffer while this
		// write is still out, not only once it returns.
		st.signalLocked()
	}
	st.releaseOwnedIfDoneLocked()
}

// dropOwnedLocked gives up sending the owned buffers (the stream failed):
// they are given back at once, or once the kernel is done with the pieces
// a write took from them.
func (st *Stream) dropOwnedLocked() {
	if q := st.owned; q != nil {
		q.framed = q.n
		st.zc = nil
	}
	st.releaseOwnedIfDoneLocked()
}

// releaseOwnedIfDoneLocked gives back the owned buffers h2 is done with:
// every byte framed (or dropped) and no piece of the stream's still being
// written. Writes waiting for room or for the stream's turn go on.
func (st *Stream) releaseOwnedIfDoneLocked() {
	q := st.owned
	if q == nil || q.framed == 0 || st.zcInFlight > 0 {
		return
	}
	// Given back after the queue is consistent again: a release runs with
	// the session locked but must find the stream as it will stay.
	var done [ownedHeld]ownedBuf
	k := q.framed
	copy(done[:], q.bufs[:k])
	copy(q.bufs[:], q.bufs[k:q.n])
	clear(q.bufs[q.n-k : q.n])
	q.n -= k
	q.framed = 0
	if q.n == 0 {
		st.owned = nil
		ownedQueues.Put(q)
	}
	for _, b := range done[:k] {
		b.release(b.bp)
	}
	if st.writeWaiters > 0 {
		st.signalLocked()
	}
}
