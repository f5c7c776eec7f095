package h2

import (
	"context"
	"errors"
)

// CONNECT (RFC 9113 §8.5) and extended CONNECT (RFC 8441, Node's
// enableConnectProtocol).
//
// A plain CONNECT carries only :method and :authority and turns the stream
// into a byte tunnel to that authority. An extended CONNECT adds :protocol
// (say "websocket") and keeps :scheme and :path; a server accepts it only
// after advertising SETTINGS_ENABLE_CONNECT_PROTOCOL (Settings.
// EnableConnectProtocol), and a client sends it only once the server has.

// ErrExtendedConnectDisabled is Request's error for an extended CONNECT
// (:protocol) to a server that did not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL.
var ErrExtendedConnectDisabled = errors.New("h2: the peer did not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL)")

// errConnectProtocolOff refuses what RFC 8441 §3 forbids: turning
// ENABLE_CONNECT_PROTOCOL off once it was on.
var errConnectProtocolOff = errorf("ENABLE_CONNECT_PROTOCOL cannot go back to 0 once sent as 1 (RFC 8441 §3)")

// extendedConnect reports whether a request header list carries :protocol.
// Only its leading pseudo-header fields are looked at.
func extendedConnect(h Header) bool {
	for i := range h {
		n := h[i].Name
		if n == "" || n[0] != ':' {
			return false
		}
		if n == ":protocol" {
			return true
		}
	}
	return false
}

// Protocol is the :protocol of an extended CONNECT request (RFC 8441), or "".
func (st *Stream) Protocol() string { return st.Header().Get(":protocol") }

// waitExtendedConnectLocked holds an extended CONNECT until the server's
// first SETTINGS arrived, then refuses it unless they enabled it.
func (s *Session) waitExtendedConnectLocked(ctx context.Context) error {
	for !s.remoteSeen {
		if s.goingAwayLocked() {
			return nil // requestLocked reports why
		}
		if err := s.waitStreamSlotLocked(ctx); err != nil {
			return err
		}
	}
	if !s.remote.EnableConnectProtocol {
		return ErrExtendedConnectDisabled
	}
	return nil
}
