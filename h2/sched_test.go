package h2

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The scheduler alone (sched.go), over streams made by hand on a session
// that was never started: which stream is ready, which one next() serves,
// and how much of each the writer's loop would send.

func schedSession() *Session {
	return &Session{opts: &Options{}, sendFlow: flow{win: 1 << 30}, wake: make(chan struct{}, 1)}
}

// schedStream is a stream whose headers are out, with pending bytes of body
// (held as a lent slice: nothing to account in the session's buffers).
func schedStream(s *Session, id uint32, p Priority, pending int) *Stream {
	st := &Stream{s: s, id: id, state: stateOpen, wire: sendHeaders, sendFlow: sendWindow{win: 1 << 30}}
	st.sched.prio = packPriority(p)
	st.zc = make([]byte, pending)
	s.sched.update(s, st)
	return st
}

// serve runs the writer's part of the loop (writeStreamDataLocked's
// accounting, without frames) for budget bytes, frames of at most 16 KiB,
// and returns the bytes each stream sent.
func serve(s *Session, budget int) map[uint32]int {
	sent := map[uint32]int{}
	for budget > 0 {
		st := s.sched.next(s)
		if st == nil {
			break
		}
		piece := len(st.pendingLocked())
		n := min(piece, 16384, st.sched.turnLeft(piece, st.outOff == len(st.out)), budget,
			int(st.sendFlow.avail()), int(s.sendFlow.avail()))
		st.consumeLocked(n)
		st.sendFlow.take(int64(n))
		s.sendFlow.take(int64(n))
		st.sched.spend(n, n == piece)
		sent[st.id] += n
		budget -= n
		s.sched.update(s, st)
	}
	return sent
}

func TestSchedReadyList(t *testing.T) {
	s := schedSession()
	st := schedStream(s, 1, DefaultPriority(), 100)
	require.True(t, st.sched.queued, "data and window: ready")
	require.Equal(t, 1, s.sched.len())

	st.sendFlow = sendWindow{win: 0}
	s.sched.update(s, st)
	require.False(t, st.sched.queued, "no stream window: not ready")
	require.Zero(t, s.sched.len())

	st.sendFlow = sendWindow{win: 10}
	s.sched.update(s, st)
	s.sendFlow = flow{win: 0}
	require.True(t, st.sched.queued, "the connection's window is checked when serving, not queueing")
	require.False(t, s.sched.hasWork(s))
	require.Zero(t, nextID(s))

	st.zc = nil
	st.queued.end()
	s.sched.update(s, st)
	require.True(t, s.sched.hasWork(s), "END_STREAM alone needs no window")
	require.Equal(t, st.id, nextID(s))
	require.Equal(t, st.sched.quantum(), st.sched.deficit, "a turn begins")

	st.wire.end()
	s.sched.update(s, st)
	require.False(t, st.sched.queued)
	require.Zero(t, st.sched.deficit, "leaving the list ends the turn")
	require.Nil(t, s.sched.cur)

	notOut := &Stream{s: s, id: 3, state: stateOpen, sendFlow: sendWindow{win: 100}, zc: make([]byte, 10)}
	s.sched.update(s, notOut)
	require.False(t, notOut.sched.queued, "nothing is sent before the stream's HEADERS")
}

func TestSchedUrgencyFirst(t *testing.T) {
	s := schedSession()
	low := DefaultPriority()
	low.Urgency = 6
	high := DefaultPriority()
	high.Urgency = 1
	a := schedStream(s, 1, low, 1000)
	b := schedStream(s, 3, DefaultPriority(), 1000)
	c := schedStream(s, 5, high, 1000)
	require.Equal(t, c.id, nextID(s), "the lowest urgency first, whatever the order of arrival")
	sent := serve(s, 1500)
	require.Equal(t, map[uint32]int{5: 1000, 3: 500}, sent, "then the next level; the least urgent waits")
	require.Equal(t, 1000, a.pendingLen())
	require.Equal(t, 500, b.pendingLen())
}

// TestSchedWeightedShares: streams of one urgency share in proportion to
// their weights, in turns of 4 KiB per unit of weight.
func TestSchedWeightedShares(t *testing.T) {
	s := schedSession()
	light := DefaultPriority() // weight 16: 64 KiB a turn
	heavy := DefaultPriority()
	heavy.Weight = 64 // 256 KiB a turn
	schedStream(s, 1, light, 10<<20)
	schedStream(s, 3, heavy, 10<<20)
	sent := serve(s, 3*(64+256)<<10)
	require.Equal(t, map[uint32]int{1: 3 * 64 << 10, 3: 3 * 256 << 10}, sent)
}

// TestSchedTurnSurvivesAndYields: the current stream keeps its turn while
// its deficit lasts, even when another of its urgency is ready; a more
// urgent one takes over at once.
func TestSchedTurnSurvivesAndYields(t *testing.T) {
	s := schedSession()
	a := schedStream(s, 1, DefaultPriority(), 1<<20)
	b := schedStream(s, 3, DefaultPriority(), 1<<20)
	require.Equal(t, a.id, nextID(s))
	a.sched.deficit -= 16384 // one frame of its turn sent
	require.Equal(t, a.id, nextID(s), "a's turn is not over, though b waits")
	a.sched.deficit = 0
	require.Equal(t, b.id, nextID(s), "a's turn is over: b's begins")
	urgent := DefaultPriority()
	urgent.Urgency = 0
	schedStream(s, 5, urgent, 10)
	require.Equal(t, uint32(5), nextID(s), "more urgent: b's turn waits")
	require.Equal(t, b.sched.quantum(), b.sched.deficit, "and keeps what is left of it")
}

// nextID is the id of the stream next() picks, 0 for none (require.Same
// would print whole streams).
func nextID(s *Session) uint32 {
	if st := s.sched.next(s); st != nil {
		return st.id
	}
	return 0
}

// TestSchedStreamWindow: a stream out of window is skipped for others,
// and served again when its window opens.
func TestSchedStreamWindow(t *testing.T) {
	s := schedSession()
	a := schedStream(s, 1, DefaultPriority(), 100)
	b := schedStream(s, 3, DefaultPriority(), 100)
	a.sendFlow = sendWindow{win: 30}
	sent := serve(s, 1000)
	require.Equal(t, map[uint32]int{1: 30, 3: 100}, sent)
	require.False(t, a.sched.queued, "a waits for WINDOW_UPDATE")
	a.sendFlow.add(70)
	s.sched.update(s, a)
	require.Equal(t, map[uint32]int{1: 70}, serve(s, 1000))
	require.Zero(t, b.pendingLen())
}

// TestSchedUrgencyChangeMovesTheStream: a queued stream whose urgency
// changes (PRIORITY_UPDATE, SetPriority) is served from its new urgency's
// queue, and leaves the old one.
func TestSchedUrgencyChangeMovesTheStream(t *testing.T) {
	s := schedSession()
	a := schedStream(s, 1, DefaultPriority(), 100)
	b := schedStream(s, 3, DefaultPriority(), 100)
	c := schedStream(s, 5, Priority{Weight: 16, Urgency: 6}, 100)
	require.Equal(t, 3, s.sched.len())

	urgent := DefaultPriority()
	urgent.Urgency = 1
	s.sched.setPriority(b, urgent)
	require.Equal(t, 3, s.sched.len())
	require.Equal(t, b.id, nextID(s), "b is now the most urgent")
	b.sched.deficit = 0 // its turn spent

	s.sched.setPriority(b, Priority{Weight: 16, Urgency: 7})
	require.Equal(t, a.id, nextID(s))
	a.sched.deficit = 0
	a.zc = nil
	s.sched.update(s, a)
	require.Equal(t, c.id, nextID(s), "urgency 6 before b's 7")
	c.zc = nil
	s.sched.update(s, c)
	require.Equal(t, b.id, nextID(s))
	require.Equal(t, 1, s.sched.len())
}

// TestSchedTurnFinishesPiece: a turn that would end inside a piece handed
// over whole runs on to its end while the piece is at most pieceQuanta
// quanta, so a 64 KiB message and its few bytes of envelope go out in one
// turn; a larger piece keeps its turns of one quantum, and the stretched
// turn ends with the piece.
func TestSchedTurnFinishesPiece(t *testing.T) {
	const msg = 64<<10 + 9 // a gRPC message of 64 KiB: envelope and tag over the quantum
	s := schedSession()
	schedStream(s, 1, DefaultPriority(), msg)
	schedStream(s, 3, DefaultPriority(), msg)
	require.Equal(t, map[uint32]int{1: msg}, serve(s, msg), "stream 1's message whole before stream 3's")
	require.Equal(t, map[uint32]int{3: msg}, serve(s, msg))

	s = schedSession()
	limit := pieceQuanta * (64 << 10)
	whole := schedStream(s, 1, DefaultPriority(), limit)
	bulk := schedStream(s, 3, DefaultPriority(), limit+1)
	require.Equal(t, map[uint32]int{1: limit}, serve(s, limit), "pieceQuanta quanta: still one turn")
	require.Zero(t, whole.pendingLen())
	require.Equal(t, map[uint32]int{3: 64 << 10}, serve(s, 64<<10))
	require.Zero(t, bulk.sched.deficit, "one quantum larger: the turn ends at its quantum")

	s = schedSession()
	first, second := make([]byte, msg), make([]byte, msg)
	keep := func(*[]byte) {}
	two := schedStream(s, 1, DefaultPriority(), 0)
	two.owned = &ownedQueue{n: 2, bufs: [ownedHeld]ownedBuf{{&first, keep}, {&second, keep}}} // two messages queued
	two.zc = first
	s.sched.update(s, two)
	other := schedStream(s, 3, DefaultPriority(), msg)
	require.Equal(t, map[uint32]int{1: msg}, serve(s, msg))
	require.Equal(t, other.id, nextID(s), "the stretched turn ends with its piece: the next message waits its turn")
}

// TestSchedFinishedPieceIsPaidFor: what a finished piece ran over its
// quantum is a debt that the stream's next turns pay, so a stream of 1 MiB
// messages gets no more than one beside a bulk sender cut into quanta.
func TestSchedFinishedPieceIsPaidFor(t *testing.T) {
	const msg, quantum = 1<<20 + 9, 64 << 10
	s := schedSession()
	first, second := make([]byte, msg), make([]byte, msg)
	keep := func(*[]byte) {}
	a := schedStream(s, 1, DefaultPriority(), 0)
	a.owned = &ownedQueue{n: 2, bufs: [ownedHeld]ownedBuf{{&first, keep}, {&second, keep}}}
	a.zc = first
	s.sched.update(s, a)
	b := schedStream(s, 3, DefaultPriority(), 4<<20)
	require.Equal(t, map[uint32]int{1: msg}, serve(s, msg), "the message goes out whole")
	require.Equal(t, int32(-(msg - quantum)), a.sched.deficit, "what it ran over is owed")
	require.Equal(t, map[uint32]int{3: msg - 9}, serve(s, msg-9), "b's quanta while a pays")
	require.Equal(t, a.id, nextID(s), "paid: a's next turn")
	require.Equal(t, int32(quantum-9), a.sched.deficit, "short by what is still owed, so not finishing its piece")
	require.Equal(t, 4<<20-(msg-9), b.pendingLen())
}

// TestWriterSendsMessagesOneAfterAnother: eight streams each with a 64 KiB
// gRPC message (64 KiB and 9 bytes) handed over whole send their messages
// one after another, each one's frames together, so the peer has the first
// message after 64 KiB rather than all eight only at the end.
func TestWriterSendsMessagesOneAfterAnother(t *testing.T) {
	const msg = 64<<10 + 9
	s := writerSession(t, Options{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote.MaxFrameSize = 1 << 20
	s.sendFlow = flow{win: 1 << 30}
	for id := uint32(1); id <= 15; id += 2 {
		st := openStream(s, id, make([]byte, msg))
		st.sendFlow = sendWindow{win: 1 << 30}
		st.queued.end()
		s.sched.update(s, st)
	}
	var wire []byte
	for s.sched.len() > 0 {
		s.fillDataLocked() // up to a full write
		wire = append(wire, s.wbuf...)
		s.wbuf = s.wbuf[:0]
	}
	var order []uint32 // the streams in wire order, one entry per run of frames
	sent := map[uint32]int{}
	for _, f := range splitFrames(t, wire) {
		require.Equal(t, FrameData, f.Type)
		if len(order) == 0 || order[len(order)-1] != f.StreamID {
			order = append(order, f.StreamID)
		}
		sent[f.StreamID] += int(f.Length)
	}
	require.Equal(t, []uint32{1, 3, 5, 7, 9, 11, 13, 15}, order, "no message cut by another's")
	require.Len(t, sent, 8)
	for id, n := range sent {
		require.Equal(t, msg, n, "stream %d", id)
	}
}
