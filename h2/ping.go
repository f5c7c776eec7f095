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
func (s *Session) Ping(ctx context.Context, payload [8]byte) (time.Duration, error) {
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
// closes it when the ack does not come within KeepaliveTimeout.
func (s *Session) keepalive() {
	t := time.NewTicker(s.opts.KeepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		quiet := time.Since(time.Unix(0, s.lastActivity.Load()))
		if quiet < s.opts.KeepaliveInterval {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.KeepaliveTimeout)
		_, err := s.Ping(ctx, [8]byte{})
		cancel()
		if err == context.DeadlineExceeded {
			s.closeWith(&ConnError{Code: ErrCodeNo, Reason: ErrPingTimeout.Error(), cause: ErrPingTimeout}, ErrCodeNo)
			return
		}
	}
}
