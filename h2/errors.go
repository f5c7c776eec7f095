package h2

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ErrCode is an HTTP/2 error code (RFC 9113 §7), carried by RST_STREAM and GOAWAY.
type ErrCode uint32

// The error codes of RFC 9113 §7.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
}

// String returns the RFC name of the code, or a hex form for unknown codes
// (which RFC 9113 §7 says must be treated as INTERNAL_ERROR but may be reported).
func (c ErrCode) String() string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return "UNKNOWN_ERROR_0x" + strconv.FormatUint(uint64(c), 16)
}

// ConnError is a session-level failure: a protocol violation by either side, a
// GOAWAY with an error code, or a limit the peer exceeded.
type ConnError struct {
	Code   ErrCode
	Remote bool   // the peer reported it (GOAWAY received) rather than us
	Reason string // debug data or our own explanation
	cause  error  // a sentinel such as ErrPingTimeout, for errors.Is
}

// Unwrap returns the sentinel behind a locally detected failure, if any.
func (e *ConnError) Unwrap() error { return e.cause }

func (e *ConnError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	if e.Reason == "" {
		return fmt.Sprintf("h2: connection error (%s): %s", who, e.Code)
	}
	return fmt.Sprintf("h2: connection error (%s): %s: %s", who, e.Code, e.Reason)
}

// StreamError reports that a stream was reset, by the peer (Remote) or by us.
type StreamError struct {
	StreamID uint32
	Code     ErrCode
	Remote   bool
	Reason   string
}

func (e *StreamError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	s := fmt.Sprintf("h2: stream %d reset (%s): %s", e.StreamID, who, e.Code)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes errors.Is(err, ErrUnprocessed) true for a peer's REFUSED_STREAM,
// which RFC 9113 §8.7 guarantees means the request was not processed.
func (e *StreamError) Is(target error) bool {
	return target == ErrUnprocessed && e.Remote && e.Code == ErrCodeRefusedStream
}

var (
	// ErrUnprocessed matches (with errors.Is) the errors of streams the peer
	// never processed: refused with REFUSED_STREAM, or above the last stream id
	// of a GOAWAY. Such requests are safe to retry on another session.
	ErrUnprocessed = errors.New("h2: stream not processed by the peer")
	// ErrSessionClosed is returned for new work on a closed or closing session.
	ErrSessionClosed = errors.New("h2: session closed")
	// ErrStreamClosed is returned when writing to a stream whose sending side is closed.
	ErrStreamClosed = errors.New("h2: stream closed for writing")
	// ErrPingTimeout closes a session whose keepalive ping was not acknowledged in time.
	ErrPingTimeout = errors.New("h2: keepalive ping not acknowledged in time")
	// ErrSettingsTimeout closes a session whose SETTINGS were not acknowledged in time.
	ErrSettingsTimeout = errors.New("h2: settings not acknowledged in time")
	// ErrIdleTimeout closes a session that had no open stream for the idle timeout.
	ErrIdleTimeout = errors.New("h2: session idle timeout")
	// ErrTooManyPings is returned by Ping when the outstanding ping limit is reached.
	ErrTooManyPings = errors.New("h2: too many outstanding pings")
)

// unprocessedError wraps the cause of a stream that never reached the peer's
// application, so that errors.Is(err, ErrUnprocessed) holds.
type unprocessedError struct {
	streamID uint32
	cause    error
}

func (e *unprocessedError) Error() string {
	return fmt.Sprintf("h2: stream %d not processed by the peer: %v", e.streamID, e.cause)
}
func (e *unprocessedError) Unwrap() []error { return []error{ErrUnprocessed, e.cause} }

func connErr(code ErrCode, format string, args ...any) *ConnError {
	return &ConnError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

func streamErr(id uint32, code ErrCode, reason string) *StreamError {
	return &StreamError{StreamID: id, Code: code, Reason: reason}
}

func errorf(format string, args ...any) error { return fmt.Errorf("h2: "+format, args...) }

var errDeadline = os.ErrDeadlineExceeded
