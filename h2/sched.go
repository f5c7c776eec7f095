package h2

import (
	"strconv"
	"strings"
)

// Priority is a stream's scheduling signal. Weight, Parent and Exclusive are
// RFC 7540's (kept for peers that still send them); Urgency and Incremental
// are RFC 9218's. The write scheduler serves lower Urgency first, and shares
// bandwidth among ready streams of equal urgency in proportion to Weight, so
// no ready stream starves. A body handed over whole (WriteOwned, EndOwned, an
// owned request body, a Write it lends) of up to 32 turns' worth goes out in
// one turn, which later turns pay back.
//
// Start from DefaultPriority and change what you need: in a Priority literal
// an unset Urgency is 0, the most urgent level, not the default 3.
type Priority struct {
	Weight      int    // 1..256; 0 means the default 16
	Parent      uint32 // RFC 7540 dependency (informational: the scheduler is flat)
	Exclusive   bool
	Urgency     int // 0 (highest) .. 7; DefaultPriority has 3
	Incremental bool
}

// DefaultPriority is what a stream gets when nobody said otherwise.
func DefaultPriority() Priority { return Priority{Weight: 16, Urgency: 3} }

func (p Priority) normalized() Priority {
	if p.Weight <= 0 {
		p.Weight = 16
	}
	p.Weight = min(p.Weight, 256)
	p.Urgency = max(0, min(p.Urgency, 7))
	return p
}

func (p Priority) param() PriorityParam {
	return PriorityParam{StreamDep: p.Parent, Exclusive: p.Exclusive, Weight: uint8(p.normalized().Weight - 1)}
}

// ParsePriorityField parses an RFC 9218 "priority" header or PRIORITY_UPDATE
// value such as "u=1, i", keeping defaults for what it does not say.
func ParsePriorityField(v string, base Priority) Priority {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "i" || item == "i=?1":
			base.Incremental = true
		case item == "i=?0":
			base.Incremental = false
		case strings.HasPrefix(item, "u="):
			if u, err := strconv.Atoi(item[2:]); err == nil && u >= 0 && u <= 7 {
				base.Urgency = u
			}
		}
	}
	return base
}

// String formats the RFC 9218 part as a priority field value.
func (p Priority) String() string {
	s := "u=" + strconv.Itoa(p.Urgency)
	if p.Incremental {
		s += ", i"
	}
	return s
}

// streamSched is a stream's place in the scheduler, 16 bytes of every
// Stream: its Priority, four words, is kept packed (streamPrio).
type streamSched struct {
	deficit int32 // bytes left of the stream's current turn (a quantum is at most 1 MiB); below 0, a debt
	prio    streamPrio
	queued  bool
	bucket  uint8 // the urgency whose queue holds the stream while queued
	// finishing: the turn runs on to the end of the piece it is in (turnLeft).
	finishing bool
}

// streamPrio is a normalized Priority in 8 bytes.
type streamPrio struct {
	parent      uint32
	weight      uint8 // the wire value: the weight less 1 (0..255)
	urgency     uint8 // 0..7
	exclusive   bool
	incremental bool
}

var defaultPrio = packPriority(DefaultPriority())

func packPriority(p Priority) streamPrio {
	p = p.normalized()
	return streamPrio{parent: p.Parent, weight: uint8(p.Weight - 1), urgency: uint8(p.Urgency),
		exclusive: p.Exclusive, incremental: p.Incremental}
}

func (p streamPrio) unpack() Priority {
	return Priority{Weight: int(p.weight) + 1, Parent: p.parent, Exclusive: p.exclusive,
		Urgency: int(p.urgency), Incremental: p.incremental}
}

// quantum is how many bytes a stream may send per turn: 4 KiB per unit of
// weight (64 KiB by default), so a weight-256 stream gets 16 times the share
// of a default one, and a default turn fills large peer frames.
func (ss *streamSched) quantum() int32 { return (int32(ss.prio.weight) + 1) << 12 }

// pieceQuanta bounds the pieces a turn finishes: 32 quanta, 2 MiB at the
// default weight, so that the largest messages an RPC sends (1 MiB and a few
// bytes of envelope) go out whole.
const pieceQuanta = 32

// turnLeft is how many bytes the stream may send now in its turn, rest being
// what is left of the piece it is sending and whole whether that piece was
// handed over whole (an owned message, a lent Write) rather than copied into
// the stream's buffer, where more bytes may join it while it is sent.
//
// A turn that begins on such a piece of more than a quantum and at most
// pieceQuanta quanta runs on to the piece's end instead of ending inside it.
// A receiver can use a message only once all of it has come: cut at the
// turn, a 64 KiB gRPC message (64 KiB and a few bytes of envelope) sends its
// tail a whole round later, behind every other ready stream's turn, so with
// eight such streams all eight complete at the round's end instead of one
// after another, and the peer's handlers wait until then; a 1 MiB message
// waits sixteen rounds. What the turn runs over its quantum is a debt that
// the stream's next turns pay (next), so shares still follow the weights.
func (ss *streamSched) turnLeft(rest int, whole bool) int {
	q := int(ss.quantum())
	if whole && int(ss.deficit) == q && rest > q && rest <= pieceQuanta*q {
		ss.finishing = true
	}
	if ss.finishing {
		return rest
	}
	return int(max(ss.deficit, 1))
}

// spend takes n sent bytes from the turn; pieceEnd says they ended the
// piece, which ends a finishing turn. Only a finishing turn goes into debt:
// a stream alone on the connection sends past its turn freely.
func (ss *streamSched) spend(n int, pieceEnd bool) {
	if ss.finishing {
		ss.deficit -= int32(n)
		ss.finishing = !pieceEnd
		return
	}
	ss.deficit = max(ss.deficit-int32(n), 0)
}

// over reports whether the turn has ended.
func (ss *streamSched) over() bool { return ss.deficit <= 0 && !ss.finishing }

// urgencyLevels is RFC 9218's 0..7.
const urgencyLevels = 8

// scheduler is a deficit round robin over the streams that want to send,
// lowest urgency first: one queue per urgency, in turn order, so that picking
// the next stream looks at the head of the most urgent non-empty queue rather
// than at every stream (it reads further only past streams that cannot send
// now, such as those waiting for the connection's window). A turn survives a
// full write buffer (the stream keeps its deficit), so shares follow weights
// however the writes are cut. It is owned by the session and used under its
// mutex.
type scheduler struct {
	ready [urgencyLevels][]*Stream
	n     int     // streams queued over all urgencies
	cur   *Stream // the stream whose turn is in progress
}

// len is how many streams are queued.
func (sc *scheduler) len() int { return sc.n }

// wants reports whether st has something to send that needs scheduling.
func (st *Stream) wantsToSend() bool {
	return st.wire.hasHeaders() && !st.wire.ended() && st.err == nil &&
		(st.pendingLen() > 0 && st.sendFlow.avail() > 0 || st.pendingLen() == 0 && st.queued.ended())
}

func (st *Stream) sendableNow(s *Session) bool {
	if !st.wantsToSend() {
		return false
	}
	return st.pendingLen() == 0 || s.sendFlow.avail() > 0
}

// update puts st in or out of the ready queues after its state changed.
func (sc *scheduler) update(s *Session, st *Stream) {
	want := st.wantsToSend()
	if want == st.sched.queued {
		if want {
			s.signalWriterAfterStarts()
		}
		return
	}
	if want {
		sc.push(st)
		s.signalWriterAfterStarts()
		return
	}
	// Nothing to send ends the turn (DRR); a debt stays to be paid.
	st.sched.deficit = min(st.sched.deficit, 0)
	st.sched.finishing = false
	if sc.cur == st {
		sc.cur = nil
	}
	sc.remove(st)
}

func (sc *scheduler) push(st *Stream) {
	u := st.sched.prio.urgency
	st.sched.queued, st.sched.bucket = true, u
	if cap(sc.ready[u]) == 0 {
		// Made by the first stream queued, not with the session: a
		// connection that never sends a body keeps no queue.
		sc.ready[u] = make([]*Stream, 0, 16)
	}
	sc.ready[u] = append(sc.ready[u], st)
	sc.n++
}

func (sc *scheduler) remove(st *Stream) {
	st.sched.queued = false
	q := sc.ready[st.sched.bucket]
	for i, r := range q {
		if r == st {
			copy(q[i:], q[i+1:])
			q[len(q)-1] = nil
			sc.ready[st.sched.bucket] = q[:len(q)-1]
			sc.n--
			return
		}
	}
}

// setPriority changes st's priority, moving it to the queue of its new
// urgency if it is queued.
func (sc *scheduler) setPriority(st *Stream, p Priority) {
	st.sched.prio = packPriority(p)
	if st.sched.queued && st.sched.prio.urgency != st.sched.bucket {
		sc.remove(st)
		sc.push(st)
	}
}

func (sc *scheduler) hasWork(s *Session) bool {
	for _, q := range sc.ready {
		for _, st := range q {
			if st.sendableNow(s) {
				return true
			}
		}
	}
	return false
}

// next picks the stream to serve: the current one while its turn lasts and
// nothing more urgent waits; otherwise the first sendable one of the most
// urgent queue, which starts a turn and moves to the back of its queue so
// its peers come first next time. A turn adds a quantum to the stream's
// debt, if any (what a finished piece ran over), and passes on to the next
// stream while that leaves nothing to send; every pass shrinks a debt, so
// the loop ends.
func (sc *scheduler) next(s *Session) *Stream {
	for u := range sc.ready {
		q := sc.ready[u]
		for i := 0; i < len(q); {
			st := q[i]
			if !st.sendableNow(s) {
				i++
				continue
			}
			if c := sc.cur; c != nil && !c.sched.over() && c.sched.bucket <= uint8(u) && c.sendableNow(s) {
				return c
			}
			copy(q[i:], q[i+1:])
			q[len(q)-1] = st
			st.sched.deficit = min(st.sched.deficit, 0) + st.sched.quantum()
			if st.sched.deficit <= 0 {
				continue
			}
			sc.cur = st
			return st
		}
	}
	return nil
}
