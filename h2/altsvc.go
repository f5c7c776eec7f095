package h2

import (
	"encoding/binary"
	"net"
	"net/url"
	"strings"
)

// ALTSVC (RFC 7838 §4) and ORIGIN (RFC 8336): two frames a server sends to
// tell a client where else it may go (an alternative service) and for which
// origins this connection may be used (the origin set). Like Node, a server
// sends them with Session.AltSvc, Stream.AltSvc, Session.Origin and
// Options.Origins; a client reports them through Hooks.OnAltSvc and
// Hooks.OnOrigin and keeps the origin set (Session.OriginSet). Both are
// ignored by a server, and malformed ones by a client, as the RFCs ask.

// The extension frame types.
const (
	FrameAltSvc FrameType = 0xa // RFC 7838
	FrameOrigin FrameType = 0xc // RFC 8336
)

// maxAltSvcPayload bounds what AltSvc sends, so that the frame fits the
// smallest MAX_FRAME_SIZE (Node applies the same bound).
const maxAltSvcPayload = minMaxFrameSize - 2

// maxOriginSet bounds the origins a client keeps: a server that keeps
// sending ORIGIN frames cannot make the set grow without end.
const maxOriginSet = 256

// extState is a session's ALTSVC and ORIGIN state.
type extState struct {
	originSet []string // client: the origins the connection is good for
}

// AltSvc advertises an alternative service (RFC 7838) for origin on the
// whole connection, like Node's session.altsvc(alt, origin): value is an
// Alt-Svc field value such as `h3=":443"; ma=3600` or "clear". Servers only.
func (s *Session) AltSvc(origin, value string) error {
	o, err := canonicalOrigin(origin)
	if err != nil {
		return err
	}
	return s.sendAltSvc(0, o, value)
}

// AltSvc advertises an alternative service for the origin of this server
// stream's request (Node's session.altsvc(alt, streamId)).
func (st *Stream) AltSvc(value string) error {
	if st.local() {
		return errorf("AltSvc on stream %d, which the client did not open", st.id)
	}
	return st.s.sendAltSvc(st.id, "", value)
}

func (s *Session) sendAltSvc(id uint32, origin, value string) error {
	if s.client {
		return errorf("ALTSVC is sent by servers only")
	}
	if value == "" || !printableASCII(value) {
		return errorf("invalid Alt-Svc value %q", value)
	}
	if len(origin)+len(value) > maxAltSvcPayload {
		return errorf("ALTSVC origin and value longer than %d bytes", maxAltSvcPayload)
	}
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(origin)+len(value)), uint16(len(origin)))
	p = append(append(p, origin...), value...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrSessionClosed
	}
	if id != 0 {
		if st := s.streams[id]; st == nil {
			return ErrStreamClosed
		}
	}
	s.queueLocked(frameReq{kind: reqExtFrame, u32: uint32(FrameAltSvc), streamID: id, data: p})
	return nil
}

// Origin sends an ORIGIN frame (RFC 8336) naming origins this connection is
// authoritative for, like Node's session.origin. Each is a URL whose origin
// is taken ("https://example.com/x" stands for "https://example.com").
// Servers only; Options.Origins sends some at the start of every session.
func (s *Session) Origin(origins ...string) error {
	if s.client {
		return errorf("ORIGIN is sent by servers only")
	}
	p, err := originPayload(origins)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrSessionClosed
	}
	s.queueLocked(frameReq{kind: reqExtFrame, u32: uint32(FrameOrigin), data: p})
	return nil
}

func originPayload(origins []string) ([]byte, error) {
	var p []byte
	for _, o := range origins {
		c, err := canonicalOrigin(o)
		if err != nil {
			return nil, err
		}
		p = binary.BigEndian.AppendUint16(p, uint16(len(c)))
		p = append(p, c...)
	}
	if len(p) > minMaxFrameSize {
		return nil, errorf("ORIGIN frame of %d bytes exceeds 16384", len(p))
	}
	return p, nil
}

// queueStartOriginsLocked sends Options.Origins after our first SETTINGS.
func (s *Session) queueStartOriginsLocked() error {
	if s.client || len(s.opts.Origins) == 0 {
		return nil
	}
	p, err := originPayload(s.opts.Origins)
	if err != nil {
		return err
	}
	s.queueLocked(frameReq{kind: reqExtFrame, u32: uint32(FrameOrigin), data: p})
	return nil
}

// canonicalOrigin is the ASCII serialization of u's origin (RFC 6454):
// lowercase scheme and host, the port only when not the scheme's default.
func canonicalOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || !printableASCII(raw) {
		return "", errorf("invalid origin %q", raw)
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" || strings.Contains(host, ":") {
		if port == "" {
			return scheme + "://[" + host + "]", nil
		}
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host, nil
}

func printableASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// OriginSet returns the origins a client session may be used for (Node's
// originSet): over TLS, the origin it was opened for, then every origin the
// server named in ORIGIN frames; over cleartext, only those (RFC 8336 is
// about TLS connections; the set is kept anyway, for tests and h2c proxies).
func (s *Session) OriginSet() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rare.Load()
	if r == nil {
		return nil
	}
	return append([]string(nil), r.extFrames.originSet...)
}

// initOriginSet seeds a TLS client's origin set with its own origin.
func (s *Session) initOriginSet() {
	if s.client && s.encrypted && s.authority != "" {
		if o, err := canonicalOrigin("https://" + s.authority); err == nil {
			s.rarePart().extFrames.originSet = []string{o}
		}
	}
}

// onAltSvc reports a server's ALTSVC frame to Hooks.OnAltSvc. A server
// ignores it (§4), and a client ignores one without the origin it needs
// (stream 0) or with one it must not have (other streams).
func (s *Session) onAltSvc(fh FrameHeader, p []byte) error {
	if !s.client || len(p) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(p))
	if 2+n > len(p) {
		return nil
	}
	origin, value := string(p[2:2+n]), string(p[2+n:])
	if (fh.StreamID == 0) == (origin == "") {
		return nil
	}
	if fh.StreamID != 0 {
		s.mu.Lock()
		idle := s.isIdleLocked(fh.StreamID)
		s.mu.Unlock()
		if idle {
			return nil
		}
	}
	if h := s.opts.Hooks.OnAltSvc; h != nil {
		h(s, value, origin, fh.StreamID)
	}
	return nil
}

// onOrigin adds an ORIGIN frame's origins to a client's origin set (up to
// maxOriginSet) and reports them to Hooks.OnOrigin. Servers ignore the
// frame, and clients one on a stream or one that does not parse (RFC 8336
// §2.1).
func (s *Session) onOrigin(fh FrameHeader, p []byte) error {
	if !s.client || fh.StreamID != 0 {
		return nil
	}
	var origins []string
	for len(p) > 0 {
		if len(p) < 2 {
			return nil
		}
		n := int(binary.BigEndian.Uint16(p))
		if 2+n > len(p) {
			return nil
		}
		origins = append(origins, string(p[2:2+n]))
		p = p[2+n:]
	}
	s.mu.Lock()
	ext := &s.rarePart().extFrames
	for _, o := range origins {
		if len(ext.originSet) >= maxOriginSet {
			break
		}
		known := false
		for _, k := range ext.originSet {
			known = known || k == o
		}
		if !known {
			ext.originSet = append(ext.originSet, o)
		}
	}
	s.mu.Unlock()
	if h := s.opts.Hooks.OnOrigin; h != nil {
		h(s, origins)
	}
	return nil
}
