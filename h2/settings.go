package h2

import (
	"encoding/binary"
	"fmt"
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

// Settings is the full set of SETTINGS parameters one endpoint has declared.
// The zero value is not meaningful; start from DefaultSettings or RFCSettings.
type Settings struct {
	HeaderTableSize       uint32
	EnablePush            bool
	MaxConcurrentStreams  uint32
	InitialWindowSize     uint32
	MaxFrameSize          uint32
	MaxHeaderListSize     uint32
	EnableConnectProtocol bool
	NoRFC7540Priorities   bool
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
	}
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
	}
}

// Pack returns the settings as a SETTINGS payload, one 6-octet pair per
// parameter (like Node's http2.getPackedSettings). Unlimited values are omitted
// since the RFC's initial value already means unlimited.
func (s Settings) Pack() []byte {
	var b []byte
	for _, p := range s.params() {
		b = binary.BigEndian.AppendUint16(b, uint16(p.ID))
		b = binary.BigEndian.AppendUint32(b, p.Val)
	}
	return b
}

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
	return ps
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

// apply sets one parameter; unknown identifiers are ignored.
func (s *Settings) apply(p Setting) {
	switch p.ID {
	case SettingHeaderTableSize:
		s.HeaderTableSize = p.Val
	case SettingEnablePush:
		s.EnablePush = p.Val == 1
	case SettingMaxConcurrentStreams:
		s.MaxConcurrentStreams = p.Val
	case SettingInitialWindowSize:
		s.InitialWindowSize = p.Val
	case SettingMaxFrameSize:
		s.MaxFrameSize = p.Val
	case SettingMaxHeaderListSize:
		s.MaxHeaderListSize = p.Val
	case SettingEnableConnectProtocol:
		s.EnableConnectProtocol = p.Val == 1
	case SettingNoRFC7540Priorities:
		s.NoRFC7540Priorities = p.Val == 1
	}
}

// Validate reports whether the settings could legally be sent.
func (s Settings) Validate() error {
	for _, p := range s.params() {
		if err := p.validate(); err != nil {
			return err
		}
	}
	return nil
}

// withDefaults fills zero fields of a user-supplied Settings from DefaultSettings,
// so that users set only what they care about.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	if s.HeaderTableSize == 0 {
		s.HeaderTableSize = d.HeaderTableSize
	}
	if s.MaxConcurrentStreams == 0 {
		s.MaxConcurrentStreams = d.MaxConcurrentStreams
	}
	if s.InitialWindowSize == 0 {
		s.InitialWindowSize = d.InitialWindowSize
	}
	if s.MaxFrameSize == 0 {
		s.MaxFrameSize = d.MaxFrameSize
	}
	if s.MaxHeaderListSize == 0 {
		s.MaxHeaderListSize = d.MaxHeaderListSize
	}
	return s
}
