package h2

// The halves of a stream, as small state machines beside its RFC 9113 §5.1
// state (stream.go), which they refine: what has been received of the
// peer's side (recvHalf), and how far ours has been queued and written
// (sendStep).

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

// sendStep is how far our side of a stream has gone, in two places: what
// the application handed to the writer (Stream.queued) and what the writer
// put on the wire (Stream.wire). Each moves one way:
//
//	sendNone --final headers (queued) / any HEADERS, 1xx too (wire)--> sendHeaders
//	sendHeaders --END_STREAM, on HEADERS, DATA or trailers--> sendEnd
//
// wire is never past queued except by a 1xx response, which is written
// before the final headers are queued. A reset is the stream's error and
// rstSent, not a step: a stream reset after its END_STREAM left (§8.1) is
// one whose end was sent all the same.
type sendStep uint8

const (
	sendNone sendStep = iota
	sendHeaders
	sendEnd
)

// headers records headers (queued: the final ones; wire: any).
func (s *sendStep) headers() {
	if *s == sendNone {
		*s = sendHeaders
	}
}

// end records END_STREAM, which comes with or after the headers.
func (s *sendStep) end() { *s = sendEnd }

// hasHeaders reports whether headers are queued (or on the wire).
func (s sendStep) hasHeaders() bool { return s >= sendHeaders }

// ended reports whether END_STREAM is queued (or on the wire).
func (s sendStep) ended() bool { return s == sendEnd }
