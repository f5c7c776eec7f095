package h2

import "time"

// Separate read and write deadlines, for net/http's ResponseController
// (SetReadDeadline, SetWriteDeadline) through the bridge. SetDeadline still
// sets the one deadline both sides share; the separate ones live in the
// stream's lazily made watch part (timeout.go), so a stream that never asks
// for them carries nothing.

const (
	sideRead = iota
	sideWrite
)

type sideDeadlines struct {
	at    [2]time.Time
	timer [2]*time.Timer
}

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

// sidePassedLocked reports whether the side's own deadline has passed.
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
