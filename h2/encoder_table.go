package h2

// encoderTableLimit is the HPACK encoder's table limit: the peer's,
// lowered by Options.MaxEncoderTableSize.
func (s *Session) encoderTableLimit(peer uint32) uint32 {
	switch m := s.opts.MaxEncoderTableSize; {
	case m < 0:
		return 0
	case m > 0:
		return min(peer, uint32(min(m, 1<<30)))
	}
	return peer
}
