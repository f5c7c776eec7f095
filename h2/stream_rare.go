package h2

// streamRare is the state few streams use, allocated by the first use:
// server push (push.go) and informational (1xx) responses, sent or
// received. In the Stream these were 48 bytes of every stream, and with the
// rest they kept it over 512 bytes, the largest size class whose objects
// carry no malloc header (TestStreamFitsItsSizeClass); behind this pointer
// they are 8. Like the Stream's own fields, they are guarded by the
// session's mu.
type streamRare struct {
	push          streamPush
	informational []Header     // client: 1xx responses received; server: 1xx responses sent
	onInfo        func(Header) // client: RequestOptions.OnInformational
}

// rarePart returns the stream's rare state, made on first use; mu is held
// or the stream is not published yet.
func (st *Stream) rarePart() *streamRare {
	if st.rare == nil {
		st.rare = &streamRare{}
	}
	return st.rare
}

// informationalLocked is what informational (1xx) responses the stream
// received (client) or sent (server).
func (st *Stream) informationalLocked() []Header {
	if st.rare == nil {
		return nil
	}
	return st.rare.informational
}
