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
// writer starts a write and checks progress four times per StallTimeout
// until nothing we sent is left unread; an idle connection has it disarmed
// and costs nothing (no goroutine, no timer, no ping). The session is a
// stall once no progress was seen for StallTimeout.
//
// Progress is measured where the bytes are:
//   - On Linux TCP (and TLS over it) the kernel says how many bytes the
//     peer's TCP acknowledged (TCP_INFO bytes_acked) and how many still wait
//     (SIOCOUTQ). A peer that acknowledges anything, however slowly, is
//     reading; one that acknowledges nothing for StallTimeout while bytes
//     wait is not (its receive window is closed, or it is gone). A stream
//     blocked on a zero HTTP/2 window is not a stall: we write nothing for
//     it, the send queue empties and the watch disarms.
//   - Elsewhere (in-memory pipes, other systems) a PING goes out behind what
//     was written: its ack proves the peer read everything before it. A
//     WINDOW_UPDATE or another ack that came meanwhile also counts as
//     progress, so a slow reader whose probe waits behind much data is not
//     cut off.
type stallWatch struct {
	timer      *time.Timer
	armed      bool
	writing    bool      // the writer is inside a write to the connection
	out        int64     // stats.bytesOut at the last check (probes not counted)
	progressAt time.Time // when progress was last seen (or the watch armed)
	// Kernel mode.
	acked int64 // the peer's TCP acknowledged bytes at the last check
	// Probe mode.
	probing     bool   // a probe was sent and not yet acknowledged
	probeAcked  bool   // the peer acknowledged the probe
	heard       uint64 // peerReads at the last check
	noKernel    bool   // the connection gave no kernel counters: probe mode
	kernelKnown bool   // noKernel was decided
}

// stallChecks is how many checks a StallTimeout holds: a stall is found
// between StallTimeout and 1.25 StallTimeout after the last progress.
const stallChecks = 4

func (s *Session) stallPeriod() time.Duration {
	return max(s.opts.StallTimeout/stallChecks, time.Millisecond)
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
	w.progressAt = time.Now()
	w.heard = s.peerReads.Load()
	w.probing, w.probeAcked = false, false
	if _, acked, ok := s.kernelProgress(); ok {
		w.acked = acked
	}
	w.timer = time.AfterFunc(s.stallPeriod(), s.checkStall)
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
	now := time.Now()
	written := s.stats.bytesOut - w.out
	w.out = s.stats.bytesOut
	if queued, acked, ok := s.kernelProgress(); ok {
		if queued == 0 && !w.writing {
			s.disarmStallLocked() // the peer has everything we sent
			return false
		}
		if acked != w.acked {
			w.acked, w.progressAt = acked, now
		} else if quiet := now.Sub(w.progressAt); quiet >= s.opts.StallTimeout {
			s.stalledLocked(fmt.Errorf("%w: %d bytes sent, none acknowledged for %v", ErrPeerNotReading, queued, quiet.Round(time.Millisecond)))
			return true
		}
		w.timer.Reset(s.stallPeriod())
		return false
	}
	heard := s.peerReads.Load()
	progress := heard != w.heard || w.probeAcked
	if progress {
		w.heard, w.progressAt = heard, now
	}
	if w.probing && w.probeAcked {
		w.probing, w.probeAcked = false, false
		if written <= 0 && !w.writing {
			s.disarmStallLocked() // the peer read all we wrote before the probe, and we wrote nothing since
			return false
		}
	}
	if quiet := now.Sub(w.progressAt); quiet >= s.opts.StallTimeout {
		s.stalledLocked(fmt.Errorf("%w: no PING acknowledgement, WINDOW_UPDATE or other sign of reading for %v", ErrPeerNotReading, quiet.Round(time.Millisecond)))
		return true
	}
	if !w.probing && !progress {
		// Nothing showed the peer reads: ask. (Not while it does, which a
		// gRPC server would count against a client that keeps sending.)
		w.probing, w.probeAcked = true, false
		// The probe's own bytes are not "written since": they would make
		// every check send another probe.
		w.out += frameHeaderLen + 8
		s.queueLocked(frameReq{kind: reqPing, ping: stallProbe})
	}
	w.timer.Reset(s.stallPeriod())
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
