package h2

// flow is one flow-control window (RFC 9113 §6.9), a stream's or the
// connection's, in one direction; all window arithmetic goes through it.
// It is plain accounting: no I/O, no locks (the session's mu guards every
// flow), and the caller sends the WINDOW_UPDATE it asks for.
//
// On the sending side, win is what we may still send: WINDOW_UPDATE and a
// larger INITIAL_WINDOW_SIZE add to it, DATA (with its padding) takes from
// it, and a smaller INITIAL_WINDOW_SIZE can make it negative (§6.9.2).
//
// On the receiving side, win is what the peer may still send us, and
// unacked what the application consumed that the peer has not been given
// back yet: credit is returned in batches, never one WINDOW_UPDATE per DATA
// frame.
type flow struct {
	win     int64
	unacked int64 // receiving side only
}

// add grows the window by n (n < 0 shrinks it, as a lower
// INITIAL_WINDOW_SIZE does) and reports whether it stays within 2^31-1,
// beyond which a sender's window is a FLOW_CONTROL_ERROR (§6.9.1).
func (f *flow) add(n int64) bool {
	f.win += n
	return f.win <= maxWindow
}

// take spends n bytes of the window, DATA sent or received with its
// padding, and reports whether the window held them: a peer that sends
// more than it may is a FLOW_CONTROL_ERROR.
func (f *flow) take(n int64) bool {
	f.win -= n
	return f.win >= 0
}

// avail is what may still be sent (it may be negative).
func (f *flow) avail() int64 { return f.win }

// sendWindow is a stream's sending window: a flow without the receiving
// side's unacked, which would be 8 bytes of every Stream never used.
type sendWindow struct{ win int64 }

// add, take and avail are flow's.
func (w *sendWindow) add(n int64) bool {
	w.win += n
	return w.win <= maxWindow
}

func (w *sendWindow) take(n int64) bool {
	w.win -= n
	return w.win >= 0
}

func (w *sendWindow) avail() int64 { return w.win }

// consumed records n received bytes the application is done with (or that
// nobody will read), to be given back to the peer.
func (f *flow) consumed(n int64) { f.unacked += n }

// creditAt gives back everything consumed once it reaches threshold, a
// stream's batch: the increment of the WINDOW_UPDATE to send, or 0 for none
// yet.
func (f *flow) creditAt(threshold int64) int64 {
	if f.unacked < threshold {
		return 0
	}
	incr := f.unacked
	f.win += incr
	f.unacked = 0
	return incr
}

// creditDue reports whether the connection's consumed bytes should be given
// back now: a quarter of the target window is consumed, or less than half
// of it is still open to the peer.
func (f *flow) creditDue(target int64) bool {
	return f.unacked >= target/4 || f.win < target/2
}

// creditUpTo gives back everything consumed, without opening the window
// beyond target (it may have been lowered): the increment to send, or 0.
func (f *flow) creditUpTo(target int64) int64 {
	if f.unacked <= 0 {
		return 0
	}
	incr := f.unacked
	if f.win+incr > target {
		incr = max(0, target-f.win)
	}
	f.unacked = 0
	f.win += incr
	return incr
}

// growTo opens the window to target when it is below: the increment to
// send, or 0. A window above target shrinks only as the peer spends it.
func (f *flow) growTo(target int64) int64 {
	grow := target - f.win
	if grow <= 0 {
		return 0
	}
	f.win += grow
	return grow
}
