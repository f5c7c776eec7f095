package h2

// sessionRare is the state few sessions use, allocated by the first use:
// the push hook a client's reader hands over (push.go), Session.SetTimeout
// (timeout.go) and a client's origin set (altsvc.go). In the Session it
// was 96 bytes of every idle connection; behind this pointer it is 8.
type sessionRare struct {
	push      pushHook
	timeout   sessionTimeout
	extFrames extState
}

// rarePart returns the session's rare state, made on first use. Fields
// keep their own locking (mu, or the timeout's): only the pointer is shared
// here.
func (s *Session) rarePart() *sessionRare {
	if r := s.rare.Load(); r != nil {
		return r
	}
	r := &sessionRare{}
	if s.rare.CompareAndSwap(nil, r) {
		return r
	}
	return s.rare.Load()
}
