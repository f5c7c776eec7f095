package h2

// Stream introspection, like the properties of Node's Http2Stream.

// HeadersSent reports whether our headers (request or response) are on the
// wire (Node's stream.headersSent).
func (st *Stream) HeadersSent() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.wire.hasHeaders()
}

// SentHeaders returns our final headers as queued for the wire (Node's
// stream.sentHeaders): a server's response, a client's request with the
// pseudo-headers h2 filled in. Nil until they are queued; the list is the
// one given, not a copy.
func (st *Stream) SentHeaders() Header {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.outHeader
}

// SentInfoHeaders returns the informational (1xx) responses a server
// stream sent (Node's stream.sentInfoHeaders); nil on a client stream.
func (st *Stream) SentInfoHeaders() []Header {
	if st.s.client {
		return nil // a client's informational holds those it received
	}
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.informationalLocked()
}

// SentTrailers returns the trailers we sent (Node's stream.sentTrailers):
// nil until they have left with END_STREAM, and for a stream that ended
// without trailers.
func (st *Stream) SentTrailers() Header {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if !st.wire.ended() {
		return nil
	}
	return st.outTrailers
}

// EndAfterHeaders reports whether the peer's request or response HEADERS
// carried END_STREAM, so that no body follows (Node's
// stream.endAfterHeaders).
func (st *Stream) EndAfterHeaders() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.endAfterHdr
}

// BufferSize is how many bytes of body wait to be sent (Node's
// stream.bufferSize).
func (st *Stream) BufferSize() int {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.pendingLen()
}

// Aborted reports whether the stream ended abnormally before our side had
// ended it (Node's stream.aborted): reset by either side, or lost with its
// session.
func (st *Stream) Aborted() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.err != nil && !st.wire.ended()
}

// Closed reports whether the stream is closed (Node's stream.closed).
func (st *Stream) Closed() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.state == stateClosed
}

// StreamWindows are a stream's flow-control windows: Recv is what the peer
// may still send on it (Node's stream.state.localWindowSize), Send what we
// may (it can be negative after the peer lowered INITIAL_WINDOW_SIZE).
type StreamWindows struct {
	Send, Recv int64
}

// Windows returns the stream's flow-control windows.
func (st *Stream) Windows() StreamWindows {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return StreamWindows{Send: st.sendFlow.avail(), Recv: st.recvFlow.avail()}
}
