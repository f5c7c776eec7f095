package h2

import "time"

// Clock reads on a call's path. On a virtual machine's kvm-clock a read costs
// about 150 ns, and a small request and response read it nine times across
// both sessions before this file (a tenth of the user CPU of a unary call
// between two idle processes). Each goroutine on the path now reads it at
// most once per step and shares the value:
//
//   - the reader once per read batch (lastActivity): keepalive, the stats of
//     the streams the batch concerns, and the close of a stream whose
//     END_STREAM it brought;
//   - the writer at most once per write, only when the write needs it
//     (writeAt): for a stream's first DATA, the close of a stream whose
//     END_STREAM it sends, and the write deadline when it moves
//     (write_deadline.go);
//   - the caller once when it opens a stream.

// now is the time in unix nanoseconds.
func (o *Options) now() int64 {
	if o.clock != nil {
		return o.clock()
	}
	return time.Now().UnixNano()
}

// writerNowLocked is the writer's clock read for the write it is filling,
// taken on first use and forgotten once the write is made (writeLoop): a
// write leaves within microseconds of being filled, far below what the times
// it stamps are read for.
func (s *Session) writerNowLocked() int64 {
	if s.writeAt == 0 {
		s.writeAt = s.opts.now()
	}
	return s.writeAt
}

// closedAt is when a stream ended, in unix nanoseconds: at, a clock read the
// closing goroutine already took (the reader's batch, the writer's write),
// when it is later than the opening, and a fresh read otherwise (a stream
// opened and closed in one read batch would last zero), never before the
// opening.
func (st *Stream) closedAt(at int64) int64 {
	if at <= st.stats.opened {
		at = st.s.opts.now()
	}
	return max(at, st.stats.opened)
}
