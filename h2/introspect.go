package h2

// Stream introspection, like the properties of Node's Http2Stream.

// HeadersSent reports whether our headers (request or response) are on the
// wire (Node's stream.headersSent).
func (st *Stream) HeadersSent() bool {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.hdrWritten
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
	return st.err != nil && !st.endSent
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
	return StreamWindows{Send: st.sendWindow, Recv: st.recvWindow}
}
