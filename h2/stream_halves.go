package h2

// The halves of a stream, as small state machines beside its RFC 9113 §5.1
// state (stream.go), which they refine: what has been received of the
// peer's side.

// recvHalf is the peer's side of a stream as we receive it:
//
//	recvHeadersDue --HEADERS (a request, a final response)--> recvBody
//	recvBody --END_STREAM (on HEADERS, DATA or trailers)--> recvEnded
//
// A client's informational (1xx) responses leave it in recvHeadersDue; a
// request or response whose HEADERS carry END_STREAM goes through
// recvBody to recvEnded at once, as does a promised request (push.go).
// A reset is the stream's error, not a state of this half: it stays where
// the reset found it.
type recvHalf uint8

const (
	recvHeadersDue recvHalf = iota
	recvBody
	recvEnded
)

// headersIn records the request or final response headers.
func (r *recvHalf) headersIn() {
	if *r == recvHeadersDue {
		*r = recvBody
	}
}

// endIn records the peer's END_STREAM. The reader accepts it only after
// headers (DATA before HEADERS is refused), so it ends a half with headers.
func (r *recvHalf) endIn() { *r = recvEnded }

// hasHeaders reports whether the peer's request or final response headers
// are in.
func (r recvHalf) hasHeaders() bool { return r >= recvBody }

// ended reports whether the peer's END_STREAM is in: nothing more comes.
func (r recvHalf) ended() bool { return r == recvEnded }
