package h2

import (
	"errors"
	"strconv"
)

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

	tooLong bool // refused for its length, not its fields
}

func (e *HeaderError) Error() string { return "h2: refusing to send " + e.Kind + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidHeader) true, or, for a block refused
// for its length, errors.Is(err, ErrHeaderBlockTooLong).
func (e *HeaderError) Is(target error) bool {
	if e.tooLong {
		return target == ErrHeaderBlockTooLong
	}
	return target == ErrInvalidHeader
}

// ErrHeaderBlockTooLong is matched (errors.Is) by the error of every send
// refused because its header block could exceed
// Options.MaxSendHeaderBlockLength.
var ErrHeaderBlockTooLong = errors.New("h2: header block too long")

var kindNames = [...]string{kindRequest: "request headers", kindResponse: "response headers", kindTrailers: "trailers"}

// checkSend applies the receiving checks (checkHeaderBlock) to a list about
// to be sent. It allocates only when it refuses.
func checkSend(h Header, kind headerKind) error {
	if _, reason := checkHeaderBlock(h, kind); reason != "" {
		return &HeaderError{Kind: kindNames[kind], Reason: reason}
	}
	return nil
}

// checkSendable is checkSend, then Options.MaxSendHeaderBlockLength (Node's
// maxSendHeaderBlockLength): a block that could encode longer is refused
// before anything of it is queued. The bound is taken on the list, not on
// its encoding: the writer encodes later, against an HPACK table that
// blocks queued before will have changed.
func (s *Session) checkSendable(h Header, kind headerKind) error {
	if err := checkSend(h, kind); err != nil {
		return err
	}
	if limit := s.opts.MaxSendHeaderBlockLength; limit > 0 {
		if n := hpackBound(h); n > int(limit) {
			return &HeaderError{Kind: kindNames[kind], tooLong: true,
				Reason: "its block could take " + strconv.Itoa(n) + " bytes, over MaxSendHeaderBlockLength " + strconv.Itoa(int(limit))}
		}
	}
	return nil
}

// hpackBound is the most bytes HPACK can encode h in: every field as a
// literal with a new name (the longest representation: one octet, then
// name and value each as a length and raw octets, since Huffman coding is
// used only where shorter, RFC 7541 §5.2 and §6.2), plus two dynamic table
// size updates at the start of the block (§4.2), 6 octets at most each.
func hpackBound(h Header) int {
	n := 2 * 6
	for _, f := range h {
		n += 1 + hpackIntLen(len(f.Name), 7) + len(f.Name) + hpackIntLen(len(f.Value), 7) + len(f.Value)
	}
	return n
}

// hpackIntLen is the length of v as an HPACK integer with a prefix of
// prefix bits (RFC 7541 §5.1).
func hpackIntLen(v, prefix int) int {
	limit := 1<<prefix - 1
	if v < limit {
		return 1
	}
	n := 2
	for v -= limit; v >= 128; v >>= 7 {
		n++
	}
	return n
}

// refuseTrailersLocked is the end of a stream whose trailers may not be
// sent. Before its headers were queued nothing has gone out, and the caller
// may still answer otherwise; after, the stream cannot end as it should, so
// it is reset with INTERNAL_ERROR rather than left for the peer to wait on.
func (st *Stream) refuseTrailersLocked(err error) error {
	st.outTrailers = nil
	if st.queued.hasHeaders() {
		st.resetLocked(&StreamError{StreamID: st.id, Code: ErrCodeInternal, Reason: err.Error()})
	}
	return err
}
