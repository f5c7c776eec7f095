package h2

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// SettingID identifies a SETTINGS parameter (RFC 9113 §6.5.2).
type SettingID uint16

// The SETTINGS parameters this engine understands. Others are ignored on receipt, as §6.5.2 requires.
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8 // RFC 8441
	SettingNoRFC7540Priorities   SettingID = 0x9 // RFC 9218 §2.1
)

func (id SettingID) String() string {
	switch id {
	case SettingHeaderTableSize:
		return "HEADER_TABLE_SIZE"
	case SettingEnablePush:
		return "ENABLE_PUSH"
	case SettingMaxConcurrentStreams:
		return "MAX_CONCURRENT_STREAMS"
	case SettingInitialWindowSize:
		return "INITIAL_WINDOW_SIZE"
	case SettingMaxFrameSize:
		return "MAX_FRAME_SIZE"
	case SettingMaxHeaderListSize:
		return "MAX_HEADER_LIST_SIZE"
	case SettingEnableConnectProtocol:
		return "ENABLE_CONNECT_PROTOCOL"
	case SettingNoRFC7540Priorities:
		return "NO_RFC7540_PRIORITIES"
	}
	return fmt.Sprintf("UNKNOWN_SETTING_0x%x", uint16(id))
}

// Setting is one identifier/value pair of a SETTINGS frame.
type Setting struct {
	ID  SettingID
	Val uint32
}

// Unlimited stands for "no limit" in MaxConcurrentStreams and MaxHeaderListSize,
// whose RFC initial value is unbounded.
const Unlimited = ^uint32(0)

// Settings is the set of SETTINGS parameters one endpoint has declared.
//
// A field counts as given when it is non-zero (true), or when With set it,
// even to zero: several parameters have 0 as a meaningful value
// (MAX_CONCURRENT_STREAMS 0 refuses new streams, INITIAL_WINDOW_SIZE 0
// holds all data, HEADER_TABLE_SIZE 0 turns off the dynamic table, and the
// booleans are 0 to turn something off). Where Settings configure or update
// a session, fields not given keep their default or current value; Pack
// encodes only what is given. Parameters this engine does not know go in
// Custom. The zero value gives nothing; DefaultSettings and RFCSettings
// give every field.
type Settings struct {
	HeaderTableSize       uint32
	EnablePush            bool
	MaxConcurrentStreams  uint32
	InitialWindowSize     uint32
	MaxFrameSize          uint32
	MaxHeaderListSize     uint32
	EnableConnectProtocol bool
	NoRFC7540Priorities   bool
	// Custom are parameters beyond the ones above (RFC 9113 §6.5.2 has
	// peers ignore what they do not know), sent after them in the order
	// given. In the peer's settings (RemoteSettings), the unknown
	// parameters it sent, the last value for each identifier (at most 64).
	Custom []Setting

	given uint16 // bit id: the field of standard setting id was set by With
}

// knownSettings are the parameters that have a field, in wire order.
var knownSettings = [...]SettingID{SettingHeaderTableSize, SettingEnablePush, SettingMaxConcurrentStreams,
	SettingInitialWindowSize, SettingMaxFrameSize, SettingMaxHeaderListSize, SettingEnableConnectProtocol,
	SettingNoRFC7540Priorities}

// maxCustomSettings bounds the unknown parameters kept from a peer.
const maxCustomSettings = 64

// field returns the address of id's field, or nil for a parameter without one.
func (s *Settings) field(id SettingID) *uint32 {
	switch id {
	case SettingHeaderTableSize:
		return &s.HeaderTableSize
	case SettingMaxConcurrentStreams:
		return &s.MaxConcurrentStreams
	case SettingInitialWindowSize:
		return &s.InitialWindowSize
	case SettingMaxFrameSize:
		return &s.MaxFrameSize
	case SettingMaxHeaderListSize:
		return &s.MaxHeaderListSize
	}
	return nil
}

func (s *Settings) flag(id SettingID) *bool {
	switch id {
	case SettingEnablePush:
		return &s.EnablePush
	case SettingEnableConnectProtocol:
		return &s.EnableConnectProtocol
	case SettingNoRFC7540Priorities:
		return &s.NoRFC7540Priorities
	}
	return nil
}

// With returns s with parameter id set to v and given, zero included: the
// way to advertise or update a zero value. An id without a field is set in
// Custom.
func (s Settings) With(id SettingID, v uint32) Settings {
	s.Custom = append([]Setting(nil), s.Custom...) // never share the caller's array
	s.set(id, v)
	return s
}

// set is With in place.
func (s *Settings) set(id SettingID, v uint32) {
	if f := s.field(id); f != nil {
		*f = v
		s.given |= 1 << id
		return
	}
	if b := s.flag(id); b != nil {
		*b = v == 1
		s.given |= 1 << id
		return
	}
	for i := range s.Custom {
		if s.Custom[i].ID == id {
			s.Custom[i].Val = v
			return
		}
	}
	if len(s.Custom) < maxCustomSettings {
		s.Custom = append(s.Custom, Setting{id, v})
	}
}

// Value returns parameter id and whether s gives it.
func (s Settings) Value(id SettingID) (uint32, bool) {
	if f := s.field(id); f != nil {
		return *f, *f != 0 || s.given&(1<<id) != 0
	}
	if b := s.flag(id); b != nil {
		return b2u(*b), *b || s.given&(1<<id) != 0
	}
	for _, p := range s.Custom {
		if p.ID == id {
			return p.Val, true
		}
	}
	return 0, false
}

// Equal reports whether s and o give the same parameters with the same
// values (Settings holds a slice, so == does not compile).
func (s Settings) Equal(o Settings) bool {
	return slices.Equal(s.givenParams(), o.givenParams())
}

// merged returns s with every parameter that u gives taken from u.
func (s Settings) merged(u Settings) Settings {
	s.Custom = append([]Setting(nil), s.Custom...)
	for _, id := range knownSettings {
		if v, ok := u.Value(id); ok {
			s.set(id, v)
		}
	}
	for _, p := range u.Custom {
		s.set(p.ID, p.Val)
	}
	return s
}

// allGiven marks every field given, for complete sets.
func (s Settings) allGiven() Settings {
	for _, id := range knownSettings {
		s.given |= 1 << id
	}
	return s
}

// RFCSettings returns the initial values RFC 9113 §6.5.2 assumes for a peer
// before its first SETTINGS frame arrives.
func RFCSettings() Settings {
	return Settings{
		HeaderTableSize:      4096,
		EnablePush:           true,
		MaxConcurrentStreams: Unlimited,
		InitialWindowSize:    65535,
		MaxFrameSize:         minMaxFrameSize,
		MaxHeaderListSize:    Unlimited,
	}.allGiven()
}

// DefaultSettings returns what this engine advertises unless told otherwise:
// bounded streams and header lists (safe defaults), push disabled, and a stream
// window large enough for one stream to fill a loopback link.
func DefaultSettings() Settings {
	return Settings{
		HeaderTableSize:      4096,
		EnablePush:           false,
		MaxConcurrentStreams: 100,
		InitialWindowSize:    4 << 20,
		MaxFrameSize:         minMaxFrameSize,
		MaxHeaderListSize:    64 << 10,
	}.allGiven()
}

// Pack returns the parameters s gives as a SETTINGS payload, one 6-octet
// pair each, Custom last (like Node's http2.getPackedSettings):
// Settings{}.Pack() is empty. Unlimited values are omitted since the RFC's
// initial value already means unlimited.
func (s Settings) Pack() []byte {
	var b []byte
	for _, p := range s.givenParams() {
		b = binary.BigEndian.AppendUint16(b, uint16(p.ID))
		b = binary.BigEndian.AppendUint32(b, p.Val)
	}
	return b
}

// givenParams are the parameters s gives, Custom last.
func (s Settings) givenParams() []Setting {
	var ps []Setting
	for _, id := range knownSettings {
		v, ok := s.Value(id)
		if ok && !(v == Unlimited && (id == SettingMaxConcurrentStreams || id == SettingMaxHeaderListSize)) {
			ps = append(ps, Setting{id, v})
		}
	}
	return append(ps, s.Custom...)
}

// params are the parameters of a complete set as we send them: every field
// (the booleans that are on), Custom last.
func (s Settings) params() []Setting {
	ps := []Setting{
		{SettingHeaderTableSize, s.HeaderTableSize},
		{SettingEnablePush, b2u(s.EnablePush)},
	}
	if s.MaxConcurrentStreams != Unlimited {
		ps = append(ps, Setting{SettingMaxConcurrentStreams, s.MaxConcurrentStreams})
	}
	ps = append(ps, Setting{SettingInitialWindowSize, s.InitialWindowSize}, Setting{SettingMaxFrameSize, s.MaxFrameSize})
	if s.MaxHeaderListSize != Unlimited {
		ps = append(ps, Setting{SettingMaxHeaderListSize, s.MaxHeaderListSize})
	}
	if s.EnableConnectProtocol {
		ps = append(ps, Setting{SettingEnableConnectProtocol, 1})
	}
	if s.NoRFC7540Priorities {
		ps = append(ps, Setting{SettingNoRFC7540Priorities, 1})
	}
	return append(ps, s.Custom...)
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// UnpackSettings parses a SETTINGS payload into its pairs, in order
// (like Node's http2.getUnpackedSettings). It validates the values as §6.5.2 requires.
func UnpackSettings(b []byte) ([]Setting, error) {
	if len(b)%6 != 0 {
		return nil, connErr(ErrCodeFrameSize, "SETTINGS payload length %d is not a multiple of 6", len(b))
	}
	ps := make([]Setting, 0, len(b)/6)
	for i := 0; i < len(b); i += 6 {
		p := Setting{SettingID(binary.BigEndian.Uint16(b[i:])), binary.BigEndian.Uint32(b[i+2:])}
		if err := p.validate(); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func (p Setting) validate() error {
	switch p.ID {
	case SettingEnablePush, SettingEnableConnectProtocol, SettingNoRFC7540Priorities:
		if p.Val > 1 {
			return connErr(ErrCodeProtocol, "%s must be 0 or 1, got %d", p.ID, p.Val)
		}
	case SettingInitialWindowSize:
		if p.Val > maxWindow {
			return connErr(ErrCodeFlowControl, "INITIAL_WINDOW_SIZE %d above 2^31-1", p.Val)
		}
	case SettingMaxFrameSize:
		if p.Val < minMaxFrameSize || p.Val > maxMaxFrameSize {
			return connErr(ErrCodeProtocol, "MAX_FRAME_SIZE %d outside [2^14, 2^24-1]", p.Val)
		}
	}
	return nil
}

// apply sets one received parameter; unknown identifiers go to Custom
// (bounded), where nothing acts on them.
func (s *Settings) apply(p Setting) { s.set(p.ID, p.Val) }

// Validate reports whether the settings could legally be sent.
func (s Settings) Validate() error {
	for _, p := range s.givenParams() {
		if err := p.validate(); err != nil {
			return err
		}
	}
	return nil
}

// withDefaults completes a user-supplied Settings from DefaultSettings:
// users give only what they care about.
func (s Settings) withDefaults() Settings { return DefaultSettings().merged(s) }
