package h2

import "time"

// A stream's deadlines: the one SetDeadline sets for both sides, and the
// separate read and write deadlines of net/http's ResponseController
// (SetReadDeadline, SetWriteDeadline) through the bridge. They live in the
// stream's lazily made watch part (timeout.go), so a stream that never asks
// for one carries nothing: in the Stream the shared one took 32 bytes of
// every stream.

const (
	sideRead = iota
	sideWrite
	sideBoth // SetDeadline's
)

type sideDeadlines struct {
	at    [3]time.Time
	timer [3]*time.Timer
}

// SetDeadline makes blocked and future Read, Write and Response calls fail
// with os.ErrDeadlineExceeded once t passes; the zero time removes it.
func (st *Stream) SetDeadline(t time.Time) { st.setSideDeadline(sideBoth, t) }

// deadlinePassedLocked reports whether SetDeadline's deadline has passed.
func (st *Stream) deadlinePassedLocked() bool { return st.sidePassedLocked(sideBoth) }

// SetReadDeadline makes blocked and future Reads fail with
// os.ErrDeadlineExceeded once t passes, without affecting Write; the zero
// time removes it.
func (st *Stream) SetReadDeadline(t time.Time) { st.setSideDeadline(sideRead, t) }

// SetWriteDeadline makes blocked and future Writes (and the end of the
// outbound side) fail with os.ErrDeadlineExceeded once t passes, without
// affecting Read; the zero time removes it.
func (st *Stream) SetWriteDeadline(t time.Time) { st.setSideDeadline(sideWrite, t) }

func (st *Stream) setSideDeadline(side int, t time.Time) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if st.watch == nil && t.IsZero() {
		return
	}
	d := &st.watchPart().sides
	d.at[side] = t
	if d.timer[side] != nil {
		d.timer[side].Stop()
		d.timer[side] = nil
	}
	if !t.IsZero() && st.state != stateClosed {
		d.timer[side] = time.AfterFunc(time.Until(t), func() {
			st.s.mu.Lock()
			st.signalLocked()
			st.s.mu.Unlock()
		})
	}
}

// sidePassedLocked reports whether the side's own deadline (or, for
// sideBoth, SetDeadline's) has passed.
func (st *Stream) sidePassedLocked(side int) bool {
	return st.watch != nil && st.watch.sides.passed(side)
}

func (d *sideDeadlines) passed(side int) bool {
	return !d.at[side].IsZero() && !time.Now().Before(d.at[side])
}

// stop stops the timers of a closed stream.
func (d *sideDeadlines) stop() {
	for _, t := range d.timer {
		if t != nil {
			t.Stop()
		}
	}
}
