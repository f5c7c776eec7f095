package h2

import (
	"errors"
	"fmt"
	"io"
)

// What a session's streams see when the connection ends under them. A
// stream's io.EOF means "the peer ended the body cleanly": a connection that
// ended while the stream was open must never look like that, so the
// connection's own io.EOF is replaced by ErrPeerClosed and the whole is
// wrapped so that errors.Is(err, ErrConnectionLost) holds.

var (
	// ErrConnectionLost matches (with errors.Is) the error of a session whose
	// connection ended without a local Close or Abort, and of the streams that
	// were open then: the peer closed or reset the connection, the network
	// failed, the peer stopped answering. The underlying cause is wrapped too.
	ErrConnectionLost = errors.New("h2: connection lost")
	// ErrPeerClosed is the cause of a lost connection that the peer closed
	// (TCP FIN, TLS close) while streams were still open.
	ErrPeerClosed = errors.New("the peer closed the connection")
	// ErrPeerNotHTTP2 matches (with errors.Is) the error of a client session
	// whose connection ended, or broke the framing, before the peer sent a
	// single valid frame: the peer does not speak HTTP/2 here, for instance a
	// TLS server answering a cleartext client.
	ErrPeerNotHTTP2 = errors.New("h2: the peer sent no HTTP/2 frame")
)

// connLostError is the error of a lost connection: ErrConnectionLost, the
// cause, and what had happened before (a GOAWAY received).
type connLostError struct {
	cause   error
	context string // "after GOAWAY ..." or "before the peer's first frame"
	notH2   bool
}

func (e *connLostError) Error() string {
	if e.context == "" {
		return fmt.Sprintf("%v: %v", ErrConnectionLost, e.cause)
	}
	return fmt.Sprintf("%v: %v (%s)", ErrConnectionLost, e.cause, e.context)
}

func (e *connLostError) Unwrap() []error {
	if e.notH2 {
		return []error{ErrConnectionLost, ErrPeerNotHTTP2, e.cause}
	}
	return []error{ErrConnectionLost, e.cause}
}

// lostLocked wraps the error that ended the connection under the session
// (read or write failure) into a connection-lost error naming the cause.
func (s *Session) lostLocked(err error) error {
	if err == nil || errors.Is(err, ErrConnectionLost) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = ErrPeerClosed
	}
	e := &connLostError{cause: err}
	switch {
	case s.goAwayRecv:
		g := s.goAwayRecvErr
		e.context = fmt.Sprintf("after its GOAWAY %s with last stream %d", g.Code, s.goAwayRecvID)
		if g.Reason != "" {
			e.context += fmt.Sprintf(": %q", g.Reason)
		}
	case s.client && s.stats.framesIn.Load() == 0:
		e.context = "before the peer's first frame: not an HTTP/2 peer?"
		e.notH2 = true
	}
	return e
}

// garbledPrefaceLocked turns a framing error in the very first bytes a
// client reads into a not-HTTP/2 error: an HTTP/1.x answer or a TLS alert
// parses as a frame of absurd size, which says nothing useful on its own.
func (s *Session) garbledPrefaceLocked(err error) error {
	if !s.client || s.stats.framesIn.Load() != 0 {
		return err
	}
	return &connLostError{cause: err, context: "the peer's first bytes are not an HTTP/2 frame", notH2: true}
}
