package h2

import (
	"context"
	"runtime"
	"time"
)

// A stream's context is the Stream itself seen as a context.Context
// (streamCtx): handing it out allocates nothing. The context package's
// machinery (a cancelCtx, its cancel function, and with a deadline a timer)
// is made only when someone waits on it, with Done or a child context
// (AfterFunc); Err and Deadline answer from the stream's state without it.
// Most handlers never wait: a gRPC server asks every call for its context,
// with the client's timeout, and before this paid two allocations per call
// for it (three and a timer with a timeout) and 24 bytes of every Stream.
//
// ctxState says how far the context got, in one word with the stream's end
// (ctxEnded) so that neither the end nor the making can miss the other:
// none, asked (the deadline is fixed, the context handed out), made
// (ctxMade is set). The in-between states are held by the one goroutine
// making the step; others yield until it is done.
const (
	ctxNone int32 = iota
	ctxAsking
	ctxAsked
	ctxMaking
	ctxMade
	ctxStep int32 = 7 // the bits of the step above

	ctxEnded     int32 = 8  // the stream ended (endCtx)
	ctxEndedLate int32 = 16 // and its deadline had passed by then
	// ctxPassed: Err saw the deadline pass. Err reads the clock while the
	// deadline is ahead (no timer runs unless something waits), and once
	// it has passed answers from this bit: no more clock reads, and no
	// going back to nil if the wall clock steps back.
	ctxPassed int32 = 32
)

// madeContext is the context package's context behind a stream's, made by
// the first wait.
type madeContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Context is canceled when the stream is reset, fails with its session, or
// (on the server) when its handler has returned.
func (st *Stream) Context() context.Context {
	ctx, _ := st.context(time.Time{})
	return ctx
}

// ContextWithDeadline is Context with deadline t as well, when this call is
// the first to ask for the stream's context: it has the deadline, and
// Context returns it from then on. A server that bounds a request by the
// client's timeout (gRPC's grpc-timeout) so has one context instead of the
// stream's and a child with the deadline, and no timer unless something
// waits on it. When the context was asked for already it is returned as it
// is, with false: derive the deadline from it then (context.WithDeadline).
func (st *Stream) ContextWithDeadline(t time.Time) (ctx context.Context, withDeadline bool) {
	return st.context(t)
}

// context returns the stream's context, with deadline d unless it is zero
// when this is the first call; first reports whether it was.
func (st *Stream) context(d time.Time) (ctx context.Context, first bool) {
	for {
		v := st.ctxState.Load()
		switch v & ctxStep {
		case ctxNone:
			if !st.ctxState.CompareAndSwap(v, v|ctxAsking) {
				continue
			}
			if !d.IsZero() {
				st.ctxDeadline = max(d.UnixNano(), 1)
			}
			st.finishStep(ctxAsked)
			return (*streamCtx)(st), true
		case ctxAsking:
			runtime.Gosched() // another first call is fixing the deadline
		default:
			return (*streamCtx)(st), false
		}
	}
}

// finishStep ends the step in progress at next, keeping the end's bits, and
// returns them. A stream that ended while it was asked for with a deadline
// already passed ended late, as a timer would have said.
func (st *Stream) finishStep(next int32) (ended int32) {
	for {
		v := st.ctxState.Load()
		keep := v &^ ctxStep
		ended = keep & (ctxEnded | ctxEndedLate)
		if ended != 0 && next == ctxAsked && st.deadlinePassed() {
			ended |= ctxEndedLate
		}
		if st.ctxState.CompareAndSwap(v, keep|ended|next) {
			return ended
		}
	}
}

// deadlinePassed reports whether the context's deadline has passed; only
// for a context asked for, whose deadline is fixed.
func (st *Stream) deadlinePassed() bool {
	return st.ctxDeadline != 0 && time.Now().UnixNano() >= st.ctxDeadline
}

// made returns the context package's context behind the stream's, making
// it on the first call. One made after the stream ended is canceled as it
// is made, with the error Err gave before.
func (st *Stream) made() context.Context {
	for {
		v := st.ctxState.Load()
		switch v & ctxStep {
		case ctxMade:
			return st.ctxMade.ctx
		case ctxAsked:
			if !st.ctxState.CompareAndSwap(v, v&^ctxStep|ctxMaking) {
				continue
			}
			m := &madeContext{}
			if st.ctxDeadline != 0 && v&(ctxEnded|ctxEndedLate) != ctxEnded {
				d := time.Unix(0, st.ctxDeadline)
				if v&ctxPassed != 0 {
					d = time.Time{} // Err said it passed: so does this context, whatever the clock says now
				}
				m.ctx, m.cancel = context.WithDeadline(context.Background(), d)
			} else {
				m.ctx, m.cancel = context.WithCancel(context.Background())
			}
			st.ctxMade = m
			if st.finishStep(ctxMade) != 0 {
				m.cancel()
			}
			return m.ctx
		default:
			runtime.Gosched() // another goroutine is making it
		}
	}
}

// endCtx cancels the stream's context, now if it was made, or as soon as
// it is made.
func (st *Stream) endCtx() {
	for {
		v := st.ctxState.Load()
		if v&ctxEnded != 0 {
			return
		}
		end := v | ctxEnded
		if v&ctxStep >= ctxAsked && (v&ctxPassed != 0 || st.deadlinePassed()) {
			end |= ctxEndedLate
		}
		if st.ctxState.CompareAndSwap(v, end) {
			if v&ctxStep == ctxMade {
				st.ctxMade.cancel()
			}
			return
		}
	}
}

// ctxErr is what the stream's context's Err says: the made context's once
// there is one (its Done is what waiters saw close), before that what it
// would say.
func (st *Stream) ctxErr() error {
	v := st.ctxState.Load()
	switch {
	case v&ctxStep == ctxMade:
		return st.ctxMade.ctx.Err()
	case v&ctxEndedLate != 0:
		return context.DeadlineExceeded
	case v&ctxEnded != 0:
		return context.Canceled
	case v&ctxPassed != 0:
		return context.DeadlineExceeded
	case v&ctxStep >= ctxAsked && st.deadlinePassed():
		st.ctxState.Or(ctxPassed)
		return context.DeadlineExceeded
	}
	return nil
}

// streamCtx is a Stream as its context. It answers the context package's
// afterFuncer too (AfterFunc), so that a child context hangs on the made
// context instead of a goroutine watching Done.
type streamCtx Stream

func (c *streamCtx) Deadline() (time.Time, bool) {
	if d := c.ctxDeadline; d != 0 {
		return time.Unix(0, d), true
	}
	return time.Time{}, false
}

func (c *streamCtx) Done() <-chan struct{} { return (*Stream)(c).made().Done() }
func (c *streamCtx) Err() error            { return (*Stream)(c).ctxErr() }
func (c *streamCtx) Value(any) any         { return nil }
func (c *streamCtx) String() string        { return "h2.Stream.Context" }

func (c *streamCtx) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc((*Stream)(c).made(), f)
}
