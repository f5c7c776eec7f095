package h2

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrPeerNotReading closes a session whose peer stopped reading what we send:
// bytes written to the connection made no progress for Options.StallTimeout.
// The write timeout cannot see this when the kernel accepted every write and
// holds the bytes in its send queue.
var ErrPeerNotReading = errors.New("h2: peer stopped reading")

// stallProbe is the payload of the PING that asks a peer whether it reads,
// where the kernel cannot tell (see checkStall).
var stallProbe = [8]byte{'h', '2', 's', 't', 'a', 'l', 'l', '?'}

// stallWatch is the session's stall detector, under mu. It is armed when the
// writer starts a write and checks progress every StallTimeout until nothing
// we sent is left unread; an idle connection has it disarmed and costs
// nothing (no goroutine, no timer running, no ping).
//
// Progress is measured where the bytes are:
//   - On Linux TCP (and TLS over it) the kernel says how many bytes the
//     peer's TCP acknowledged (TCP_INFO bytes_acked) and how many still wait
//     (SIOCOUTQ). A peer that acknowledges anything within a period, however
//     slowly, is reading; one that acknowledges nothing for a whole period
//     while bytes wait is not (its receive window is closed, or it is gone).
//     A stream blocked on a zero HTTP/2 window is not a stall: we write
//     nothing for it, the send queue empties and the watch disarms.
//   - Elsewhere (in-memory pipes, other systems) a PING goes out behind what
//     was written: its ack proves the peer read everything before it. A
//     WINDOW_UPDATE or another ack that came meanwhile also counts as
//     progress, so a slow reader whose probe waits behind much data is not
//     cut off. A probe unanswered, with nothing else heard, for a whole
//     period is a stall.
type stallWatch struct {
	timer   *time.Timer
	armed   bool
	writing bool  // the writer is inside a write to the connection
	out     int64 // stats.bytesOut at the last check (probes not counted)
	// Kernel mode.
	acked int64 // the peer's TCP acknowledged bytes at the last check
	// Probe mode.
	probing     bool   // a probe was sent and not yet acknowledged
	probeAcked  bool   // the peer acknowledged the probe
	heard       uint64 // peerReads at the last check
	noKernel    bool   // the connection gave no kernel counters: probe mode
	kernelKnown bool   // noKernel was decided
}

// beginWriteLocked runs before each write to the connection: it arms the
// watch when it is not armed.
func (s *Session) beginWriteLocked() {
	w := &s.stall
	w.writing = true
	if w.armed || s.opts.StallTimeout <= 0 || s.closing {
		return
	}
	w.armed = true
	w.out = s.stats.bytesOut
	w.heard = s.peerReads.Load()
	w.probing, w.probeAcked = false, false
	if _, acked, ok := s.kernelProgress(); ok {
		w.acked = acked
	}
	w.timer = time.AfterFunc(s.opts.StallTimeout, s.checkStall)
}

// disarmStallLocked stops watching until the next write. The timer, which
// has fired, goes too: an idle connection keeps none.
func (s *Session) disarmStallLocked() {
	s.stall.armed = false
	s.stall.timer = nil
}

// kernelProgress returns the bytes waiting in the connection's send queue and
// the bytes its peer acknowledged so far, when the system tells.
func (s *Session) kernelProgress() (queued, acked int64, ok bool) {
	w := &s.stall
	if w.kernelKnown && w.noKernel {
		return 0, 0, false
	}
	queued, acked, ok = tcpSendProgress(s.conn)
	w.kernelKnown, w.noKernel = true, !ok
	return queued, acked, ok
}

// checkStall runs every StallTimeout while the watch is armed (on a timer's
// goroutine).
func (s *Session) checkStall() {
	s.mu.Lock()
	stalled := s.checkStallLocked()
	s.mu.Unlock()
	if stalled {
		// The peer reads nothing: a final GOAWAY could not get through, and
		// a blocked write only ends when the connection does.
		_ = s.conn.Close()
	}
}

func (s *Session) checkStallLocked() (stalled bool) {
	w := &s.stall
	if s.closing || !w.armed {
		return false
	}
	timeout := s.opts.StallTimeout
	written := s.stats.bytesOut - w.out
	w.out = s.stats.bytesOut
	if queued, acked, ok := s.kernelProgress(); ok {
		if queued == 0 && !w.writing {
			s.disarmStallLocked() // the peer has everything we sent
			return false
		}
		if acked == w.acked {
			s.stalledLocked(fmt.Errorf("%w: %d bytes sent, none acknowledged for %v", ErrPeerNotReading, queued, timeout))
			return true
		}
		w.acked = acked
		w.timer.Reset(timeout)
		return false
	}
	heard := s.peerReads.Load()
	progress := heard != w.heard
	w.heard = heard
	switch {
	case w.probing && w.probeAcked:
		w.probing = false
		if written <= 0 && !w.writing {
			s.disarmStallLocked() // the peer read all we wrote before the probe, and we wrote nothing since
			return false
		}
	case w.probing && !progress:
		s.stalledLocked(fmt.Errorf("%w: no PING acknowledgement, WINDOW_UPDATE or other sign of reading for %v", ErrPeerNotReading, timeout))
		return true
	case w.probing:
		w.timer.Reset(timeout) // slow but reading: the probe is still on its way
		return false
	}
	w.probing, w.probeAcked = true, false
	// The probe's own bytes are not "written since": they would make every
	// check send another probe.
	w.out += frameHeaderLen + 8
	s.queueLocked(frameReq{kind: reqPing, ping: stallProbe})
	w.timer.Reset(timeout)
	return false
}

// stalledLocked ends the session for a peer that stopped reading.
func (s *Session) stalledLocked(err error) {
	s.beginCloseLocked(&ConnError{Code: ErrCodeNo, Reason: err.Error(), cause: err}, ErrCodeNo, true)
}

// onStallProbeAckLocked records the ack of our probe.
func (s *Session) onStallProbeAckLocked() {
	s.stall.probeAcked = true
}

// underlyingConn unwraps TLS (and any wrapper that exposes its connection the
// same way) to reach the socket.
func underlyingConn(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = u.NetConn()
	}
}
