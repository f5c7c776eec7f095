package h2

import (
	"context"
	"encoding/binary"
	"time"
)

type pingWait struct {
	sent time.Time
	rtt  time.Duration
	err  error
	done chan struct{}
}

// Ping sends a PING and returns the round-trip time when its ack arrives
// (like Node's session.ping). A zero payload is replaced by a unique one.
// A context already done sends nothing: the ack of a fast peer would
// otherwise race its end.
func (s *Session) Ping(ctx context.Context, payload [8]byte) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return 0, ErrSessionClosed
	}
	if len(s.pings) >= s.opts.Limits.MaxOutstandingPings {
		s.mu.Unlock()
		return 0, ErrTooManyPings
	}
	if payload == ([8]byte{}) {
		s.pingSeq++
		binary.BigEndian.PutUint64(payload[:], s.pingSeq|1<<63)
	}
	if _, dup := s.pings[payload]; dup {
		s.mu.Unlock()
		return 0, errorf("a ping with payload %x is already outstanding", payload)
	}
	w := &pingWait{sent: time.Now(), done: make(chan struct{})}
	s.pings[payload] = w
	s.stats.PingsSent++
	s.queueLocked(frameReq{kind: reqPing, ping: payload})
	s.mu.Unlock()
	select {
	case <-w.done:
		return w.rtt, w.err
	case <-ctx.Done():
		s.mu.Lock()
		if s.pings[payload] == w {
			delete(s.pings, payload)
		}
		s.mu.Unlock()
		return 0, ctx.Err()
	}
}

func (s *Session) onPingAck(data [8]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if data == stallProbe {
		s.onStallProbeAckLocked()
		return
	}
	w := s.pings[data]
	if w == nil {
		return // an ack for a ping we gave up on, or never sent: ignored
	}
	delete(s.pings, data)
	w.rtt = time.Since(w.sent)
	s.stats.LastPingRTT = w.rtt
	close(w.done)
}

// keepalive pings a session that has been quiet for KeepaliveInterval and
// closes it when the ack does not come within KeepaliveTimeout. The ping is
// due one interval after the last frame arrived, not at the first tick of a
// fixed ticker that finds a whole quiet interval behind it: that would let a
// peer that fell silent just after a tick go unnoticed for almost two
// intervals, so a dead peer is found within KeepaliveInterval+KeepaliveTimeout.
func (s *Session) keepalive() {
	interval := s.opts.KeepaliveInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		due := time.Unix(0, s.lastActivity.Load()).Add(interval)
		if wait := time.Until(due); wait > 0 {
			t.Reset(wait) // something arrived meanwhile: the ping moves with it
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.KeepaliveTimeout)
		_, err := s.Ping(ctx, [8]byte{})
		cancel()
		if err == context.DeadlineExceeded {
			s.closeWith(&ConnError{Code: ErrCodeNo, Reason: ErrPingTimeout.Error(), cause: ErrPingTimeout}, ErrCodeNo)
			return
		}
		t.Reset(interval) // the ack stamped lastActivity: one interval from it
	}
}
