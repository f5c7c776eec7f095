package h2

import "errors"

// Header lists we send pass the checks that lists we receive pass (RFC 9113
// §8.2): a field that a peer would have to reject as malformed, or a value
// with CR or LF that an HTTP/1.1 hop downstream could take for a line end,
// never leaves.

// ErrInvalidHeader is matched (errors.Is) by the error of every send that was
// refused because its header list breaks RFC 9113 §8.2; errors.As with a
// *HeaderError tells why.
var ErrInvalidHeader = errors.New("h2: invalid header list")

// HeaderError is a header list that h2 refused to send.
type HeaderError struct {
	// Kind is what the list was: "request headers", "response headers"
	// (final or informational) or "trailers".
	Kind string
	// Reason names the offending field and what is wrong with it.
	Reason string
}

func (e *HeaderError) Error() string { return "h2: refusing to send " + e.Kind + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidHeader) true.
func (e *HeaderError) Is(target error) bool { return target == ErrInvalidHeader }

var kindNames = [...]string{kindRequest: "request headers", kindResponse: "response headers", kindTrailers: "trailers"}

// checkSend applies the receiving checks (checkHeaderBlock) to a list about
// to be sent. It allocates only when it refuses.
func checkSend(h Header, kind headerKind) error {
	if _, reason := checkHeaderBlock(h, kind); reason != "" {
		return &HeaderError{Kind: kindNames[kind], Reason: reason}
	}
	return nil
}

// refuseTrailersLocked is the end of a stream whose trailers may not be
// sent. Before its headers were queued nothing has gone out, and the caller
// may still answer otherwise; after, the stream cannot end as it should, so
// it is reset with INTERNAL_ERROR rather than left for the peer to wait on.
func (st *Stream) refuseTrailersLocked(err error) error {
	st.outTrailers = nil
	if st.hdrQueued {
		st.resetLocked(&StreamError{StreamID: st.id, Code: ErrCodeInternal, Reason: err.Error()})
	}
	return err
}
