package h2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSettingsPackUnpack(t *testing.T) {
	s := DefaultSettings()
	s.EnableConnectProtocol = true
	s.NoRFC7540Priorities = true
	b := s.Pack()
	require.Zero(t, len(b)%6)
	ps, err := UnpackSettings(b)
	require.NoError(t, err)
	got := RFCSettings()
	for _, p := range ps {
		got.apply(p)
	}
	require.Equal(t, s, got)

	// Unlimited values are left out: the RFC's initial value already means it.
	u := RFCSettings()
	ps, err = UnpackSettings(u.Pack())
	require.NoError(t, err)
	for _, p := range ps {
		require.NotEqual(t, SettingMaxConcurrentStreams, p.ID)
		require.NotEqual(t, SettingMaxHeaderListSize, p.ID)
	}
	require.NoError(t, u.Validate())
}

func TestUnpackSettingsRejects(t *testing.T) {
	pair := func(id SettingID, v uint32) []byte {
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, uint16(id)), v)
	}
	cases := []struct {
		name string
		b    []byte
		code ErrCode
	}{
		{"odd length", []byte{0, 1, 0, 0, 0}, ErrCodeFrameSize},
		{"enable push 2", pair(SettingEnablePush, 2), ErrCodeProtocol},
		{"connect protocol 2", pair(SettingEnableConnectProtocol, 2), ErrCodeProtocol},
		{"no rfc7540 priorities 2", pair(SettingNoRFC7540Priorities, 2), ErrCodeProtocol},
		{"window 2^31", pair(SettingInitialWindowSize, 1<<31), ErrCodeFlowControl},
		{"frame size too small", pair(SettingMaxFrameSize, 1<<14-1), ErrCodeProtocol},
		{"frame size too big", pair(SettingMaxFrameSize, 1<<24), ErrCodeProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := UnpackSettings(c.b)
			var ce *ConnError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, c.code, ce.Code)
		})
	}
	// Unknown identifiers and boundary values are accepted (§6.5.2).
	ok := append(pair(0x99, 12345), pair(SettingInitialWindowSize, 1<<31-1)...)
	ok = append(ok, pair(SettingMaxFrameSize, 1<<24-1)...)
	ok = append(ok, pair(SettingMaxFrameSize, 1<<14)...)
	ps, err := UnpackSettings(ok)
	require.NoError(t, err)
	require.Len(t, ps, 4)
	require.Equal(t, "UNKNOWN_SETTING_0x99", ps[0].ID.String())
	got := RFCSettings()
	got.apply(ps[0])
	require.Equal(t, []Setting{{0x99, 12345}}, got.Custom, "unknown settings are kept aside")
	got.Custom = nil
	require.Equal(t, RFCSettings(), got, "and change nothing else")
}

func TestSettingsValidateAndNames(t *testing.T) {
	s := DefaultSettings()
	s.MaxFrameSize = 100
	require.Error(t, s.Validate())
	s = DefaultSettings()
	s.InitialWindowSize = 1 << 31
	require.Error(t, s.Validate())
	require.NoError(t, DefaultSettings().Validate())
	for id, name := range map[SettingID]string{
		SettingHeaderTableSize: "HEADER_TABLE_SIZE", SettingEnablePush: "ENABLE_PUSH",
		SettingMaxConcurrentStreams: "MAX_CONCURRENT_STREAMS", SettingInitialWindowSize: "INITIAL_WINDOW_SIZE",
		SettingMaxFrameSize: "MAX_FRAME_SIZE", SettingMaxHeaderListSize: "MAX_HEADER_LIST_SIZE",
		SettingEnableConnectProtocol: "ENABLE_CONNECT_PROTOCOL", SettingNoRFC7540Priorities: "NO_RFC7540_PRIORITIES",
	} {
		require.Equal(t, name, id.String())
	}
	// Zero fields of user settings take the defaults; explicit ones stay.
	w := Settings{MaxConcurrentStreams: 3}.withDefaults()
	require.Equal(t, uint32(3), w.MaxConcurrentStreams)
	require.Equal(t, DefaultSettings().InitialWindowSize, w.InitialWindowSize)
	require.Equal(t, DefaultSettings().MaxHeaderListSize, w.MaxHeaderListSize)
}

func hdr(kv ...string) Header {
	var h Header
	for i := 0; i < len(kv); i += 2 {
		// Appended as given (not through Add, which lowercases): these are
		// header lists as a peer could send them.
		h = append(h, HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return h
}

func TestCheckHeaderBlock(t *testing.T) {
	req := func(extra ...string) Header { return hdr(append(getRequest(), extra...)...) }
	cases := []struct {
		name string
		h    Header
		kind headerKind
		bad  bool
		cl   int64
	}{
		{"valid request", req("accept", "*/*"), kindRequest, false, -1},
		{"uppercase name", req("Accept", "x"), kindRequest, true, -1},
		{"space in name", req("a b", "x"), kindRequest, true, -1},
		{"colon in regular name", req("a:b", "x"), kindRequest, true, -1},
		{"NUL in value", req("a", "x\x00y"), kindRequest, true, -1},
		{"CR in value", req("a", "x\ry"), kindRequest, true, -1},
		{"LF in value", req("a", "x\ny"), kindRequest, true, -1},
		{"leading space in value", req("a", " x"), kindRequest, true, -1},
		{"trailing tab in value", req("a", "x\t"), kindRequest, true, -1},
		{"inner space in value", req("a", "x y"), kindRequest, false, -1},
		{"pseudo after regular", hdr(":method", "GET", ":scheme", "http", "a", "b", ":path", "/"), kindRequest, true, -1},
		{"duplicate :path", req(":path", "/x"), kindRequest, true, -1},
		{"duplicate :method", hdr(":method", "GET", ":method", "GET", ":scheme", "http", ":path", "/"), kindRequest, true, -1},
		{"unknown pseudo", hdr(":method", "GET", ":scheme", "http", ":path", "/", ":foo", "x"), kindRequest, true, -1},
		{"response pseudo in request", hdr(":method", "GET", ":scheme", "http", ":path", "/", ":status", "200"), kindRequest, true, -1},
		{"missing :method", hdr(":scheme", "http", ":path", "/"), kindRequest, true, -1},
		{"missing :path", hdr(":method", "GET", ":scheme", "http"), kindRequest, true, -1},
		{"missing :scheme", hdr(":method", "GET", ":path", "/"), kindRequest, true, -1},
		{"empty :path", hdr(":method", "GET", ":scheme", "http", ":path", ""), kindRequest, true, -1},
		{"CONNECT ok", hdr(":method", "CONNECT", ":authority", "h:443"), kindRequest, false, -1},
		{"CONNECT with path", hdr(":method", "CONNECT", ":authority", "h:443", ":path", "/"), kindRequest, true, -1},
		{"CONNECT without authority", hdr(":method", "CONNECT"), kindRequest, true, -1},
		{"extended CONNECT", hdr(":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/ws", ":authority", "h"), kindRequest, false, -1},
		{"connection", req("connection", "close"), kindRequest, true, -1},
		{"keep-alive", req("keep-alive", "5"), kindRequest, true, -1},
		{"proxy-connection", req("proxy-connection", "x"), kindRequest, true, -1},
		{"transfer-encoding", req("transfer-encoding", "chunked"), kindRequest, true, -1},
		{"upgrade", req("upgrade", "h2c"), kindRequest, true, -1},
		{"te trailers", req("te", "trailers"), kindRequest, false, -1},
		{"te gzip", req("te", "gzip"), kindRequest, true, -1},
		{"content-length", req("content-length", "42"), kindRequest, false, 42},
		{"content-length twice same", req("content-length", "42", "content-length", "42"), kindRequest, false, 42},
		{"content-length conflict", req("content-length", "42", "content-length", "43"), kindRequest, true, -1},
		{"content-length negative", req("content-length", "-1"), kindRequest, true, -1},
		{"content-length junk", req("content-length", "4x"), kindRequest, true, -1},
		{"response ok", hdr(":status", "200", "content-type", "text/plain"), kindResponse, false, -1},
		{"response missing status", hdr("content-type", "x"), kindResponse, true, -1},
		{"response bad status", hdr(":status", "20"), kindResponse, true, -1},
		{"response request pseudo", hdr(":status", "200", ":path", "/"), kindResponse, true, -1},
		{"response two statuses", hdr(":status", "200", ":status", "204"), kindResponse, true, -1},
		{"trailers ok", hdr("grpc-status", "0"), kindTrailers, false, -1},
		{"trailers pseudo", hdr(":status", "200"), kindTrailers, true, -1},
		{"trailers content-length ignored", hdr("content-length", "x"), kindTrailers, false, -1},
		{"trailers uppercase", hdr("Grpc-Status", "0"), kindTrailers, true, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, reason := checkHeaderBlock(c.h, c.kind)
			if c.bad {
				require.NotEmpty(t, reason)
				return
			}
			require.Empty(t, reason)
			require.Equal(t, c.cl, cl)
		})
	}
}

func TestHeaderMethods(t *testing.T) {
	h := hdr("a", "1", "b", "2", "a", "3")
	require.Equal(t, "1", h.Get("a"))
	require.Equal(t, []string{"1", "3"}, h.Values("a"))
	require.True(t, h.Has("b"))
	require.False(t, h.Has("c"))
	c := h.Clone()
	c.Set("a", "x")
	require.Equal(t, hdr("a", "x", "b", "2"), c)
	require.Equal(t, "1", h.Get("a"), "Clone shares no storage")
	c.Set("z", "9")
	require.Equal(t, "9", c.Get("z"))
	c.Del("a")
	require.Equal(t, hdr("b", "2", "z", "9"), c)
}

func TestFrameRoundTrip(t *testing.T) {
	prio := &PriorityParam{StreamDep: 3, Exclusive: true, Weight: 200}
	cases := []struct {
		name    string
		b       []byte
		typ     FrameType
		flags   Flags
		id      uint32
		payload []byte
	}{
		{"data", appendData(nil, 5, true, []byte("abc")), FrameData, FlagEndStream, 5, []byte("abc")},
		{"data empty", appendData(nil, 7, false, nil), FrameData, 0, 7, nil},
		{"headers", appendHeaders(nil, 1, false, true, nil, []byte{0x82}), FrameHeaders, FlagEndHeaders, 1, []byte{0x82}},
		{"headers prio", appendHeaders(nil, 1, true, false, prio, []byte{0x82}), FrameHeaders, FlagEndStream | FlagPriority, 1,
			[]byte{0x80, 0, 0, 3, 200, 0x82}},
		{"continuation", appendContinuation(nil, 9, true, []byte{1, 2}), FrameContinuation, FlagEndHeaders, 9, []byte{1, 2}},
		{"priority", appendPriority(nil, 3, PriorityParam{StreamDep: 1, Weight: 15}), FramePriority, 0, 3, []byte{0, 0, 0, 1, 15}},
		{"rst", appendRSTStream(nil, 3, ErrCodeCancel), FrameRSTStream, 0, 3, []byte{0, 0, 0, 8}},
		{"settings", AppendSettings(nil, Setting{SettingMaxFrameSize, 1 << 20}), FrameSettings, 0, 0, []byte{0, 5, 0, 0x10, 0, 0}},
		{"settings ack", appendSettingsAck(nil), FrameSettings, FlagAck, 0, nil},
		{"ping ack", AppendPing(nil, true, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}), FramePing, FlagAck, 0, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"goaway", appendGoAway(nil, 1<<31|5, ErrCodeEnhanceYourCalm, []byte("x")), FrameGoAway, 0, 0, []byte{0, 0, 0, 5, 0, 0, 0, 0xb, 'x'}},
		{"window update", appendWindowUpdate(nil, 1, 1<<31|1000), FrameWindowUpdate, 0, 1, []byte{0, 0, 0x3, 0xe8}},
		{"priority update", appendPriorityUpdate(nil, 5, "u=1"), FramePriorityUpdate, 0, 0, []byte{0, 0, 0, 5, 'u', '=', '1'}},
		{"raw", appendRaw(nil, 0xfa, 0xff, 1<<31|3, []byte("z")), 0xfa, 0xff, 3, []byte("z")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf [frameHeaderLen]byte
			r := bytes.NewReader(c.b)
			fh, err := ReadFrameHeader(r, &buf)
			require.NoError(t, err)
			require.Equal(t, c.typ, fh.Type)
			require.Equal(t, c.flags, fh.Flags)
			require.Equal(t, c.id, fh.StreamID, "the reserved bit is never part of the id")
			require.Equal(t, int(fh.Length), r.Len())
			rest := c.b[frameHeaderLen:]
			if len(c.payload) == 0 {
				require.Empty(t, rest)
			} else {
				require.Equal(t, c.payload, rest)
			}
		})
	}
	// A frame header cut short is an error, not a zero header.
	var buf [frameHeaderLen]byte
	_, err := ReadFrameHeader(bytes.NewReader([]byte{0, 0, 1, 0}), &buf)
	require.Error(t, err)
	// The priority fields parse back to what was appended.
	got := parsePriority(appendPriorityParam(nil, *prio))
	require.Equal(t, *prio, got)
}

func TestStripPadding(t *testing.T) {
	fh := FrameHeader{Type: FrameData, Flags: FlagPadded}
	p, err := stripPadding(fh, []byte{2, 'a', 'b', 0, 0})
	require.NoError(t, err)
	require.Equal(t, "ab", string(p))
	p, err = stripPadding(fh, []byte{0})
	require.NoError(t, err)
	require.Empty(t, p)
	_, err = stripPadding(fh, nil)
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, ErrCodeFrameSize, ce.Code)
	_, err = stripPadding(fh, []byte{3, 'a', 'b'})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, ErrCodeProtocol, ce.Code)
	p, err = stripPadding(FrameHeader{Type: FrameData}, []byte{3, 'a'})
	require.NoError(t, err)
	require.Equal(t, []byte{3, 'a'}, p, "no PADDED flag: payload untouched")
}

func TestFrameTypeAndFlags(t *testing.T) {
	require.Equal(t, "HEADERS", FrameHeaders.String())
	require.Equal(t, "PRIORITY_UPDATE", FramePriorityUpdate.String())
	require.Equal(t, "UNKNOWN_FRAME_0xfa", FrameType(0xfa).String())
	f := FlagEndStream | FlagEndHeaders
	require.True(t, f.Has(FlagEndHeaders))
	require.True(t, f.Has(FlagEndStream|FlagEndHeaders))
	require.False(t, f.Has(FlagPadded))
}

func TestParsePriorityField(t *testing.T) {
	d := DefaultPriority()
	cases := []struct {
		in        string
		urgency   int
		increment bool
	}{
		{"", 3, false},
		{"u=0", 0, false},
		{"u=7, i", 7, true},
		{"i", 3, true},
		{"i=?1", 3, true},
		{"u=1,i=?0", 1, false},
		{"u=8", 3, false},
		{"u=-1", 3, false},
		{"u=x", 3, false},
		{"  u=2 ,  i  ", 2, true},
		{"foo=bar, u=5", 5, false},
	}
	for _, c := range cases {
		p := ParsePriorityField(c.in, d)
		require.Equal(t, c.urgency, p.Urgency, c.in)
		require.Equal(t, c.increment, p.Incremental, c.in)
		require.Equal(t, d.Weight, p.Weight, "RFC 7540 fields untouched")
	}
	// The base is kept for what the field does not say.
	base := Priority{Weight: 100, Urgency: 6, Incremental: true}
	require.Equal(t, base, ParsePriorityField("nothing", base))
	require.Equal(t, "u=1, i", Priority{Urgency: 1, Incremental: true}.String())
	require.Equal(t, "u=3", DefaultPriority().String())
	// String and ParsePriorityField agree.
	for u := 0; u <= 7; u++ {
		p := Priority{Weight: 16, Urgency: u, Incremental: u%2 == 0}
		require.Equal(t, p, ParsePriorityField(p.String(), DefaultPriority()))
	}
}

func TestPriorityNormalized(t *testing.T) {
	require.Equal(t, 16, Priority{}.normalized().Weight)
	require.Equal(t, 256, Priority{Weight: 1000}.normalized().Weight)
	require.Equal(t, 0, Priority{Urgency: -4}.normalized().Urgency)
	require.Equal(t, 7, Priority{Urgency: 12}.normalized().Urgency)
	pp := Priority{Weight: 256, Parent: 5, Exclusive: true}.param()
	require.Equal(t, PriorityParam{StreamDep: 5, Exclusive: true, Weight: 255}, pp)
}

func TestErrCodeString(t *testing.T) {
	names := map[ErrCode]string{
		ErrCodeNo: "NO_ERROR", ErrCodeProtocol: "PROTOCOL_ERROR", ErrCodeInternal: "INTERNAL_ERROR",
		ErrCodeFlowControl: "FLOW_CONTROL_ERROR", ErrCodeSettingsTimeout: "SETTINGS_TIMEOUT",
		ErrCodeStreamClosed: "STREAM_CLOSED", ErrCodeFrameSize: "FRAME_SIZE_ERROR",
		ErrCodeRefusedStream: "REFUSED_STREAM", ErrCodeCancel: "CANCEL", ErrCodeCompression: "COMPRESSION_ERROR",
		ErrCodeConnect: "CONNECT_ERROR", ErrCodeEnhanceYourCalm: "ENHANCE_YOUR_CALM",
		ErrCodeInadequateSecurity: "INADEQUATE_SECURITY", ErrCodeHTTP11Required: "HTTP_1_1_REQUIRED",
	}
	for c, n := range names {
		require.Equal(t, n, c.String())
	}
	require.Equal(t, "UNKNOWN_ERROR_0xe", ErrCode(0xe).String())
	require.Equal(t, "UNKNOWN_ERROR_0xffffffff", ErrCode(0xffffffff).String())
}

func TestErrorTypes(t *testing.T) {
	remote := &StreamError{StreamID: 3, Code: ErrCodeRefusedStream, Remote: true}
	require.ErrorIs(t, remote, ErrUnprocessed)
	require.Contains(t, remote.Error(), "remote")
	local := &StreamError{StreamID: 3, Code: ErrCodeRefusedStream}
	require.False(t, errors.Is(local, ErrUnprocessed), "our own refusal says nothing about the peer")
	require.False(t, errors.Is(&StreamError{Code: ErrCodeCancel, Remote: true}, ErrUnprocessed))
	ce := &ConnError{Code: ErrCodeProtocol, Reason: "why"}
	require.Contains(t, ce.Error(), "PROTOCOL_ERROR")
	require.Contains(t, ce.Error(), "why")
	up := &unprocessedError{streamID: 5, cause: ce}
	require.ErrorIs(t, up, ErrUnprocessed)
	var got *ConnError
	require.ErrorAs(t, up, &got, "the cause stays reachable")
	require.Same(t, ce, got)
}

func TestTokenBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newTokenBucket(10, 3)
	for i := 0; i < 3; i++ {
		require.True(t, b.take(now), "burst token %d", i)
	}
	require.False(t, b.take(now), "burst spent")
	require.False(t, b.take(now.Add(50*time.Millisecond)), "half a token is not a token")
	require.True(t, b.take(now.Add(150*time.Millisecond)), "refilled at 10/s")
	require.False(t, b.take(now.Add(150*time.Millisecond)))
	// A long pause refills to the burst, never beyond.
	later := now.Add(time.Hour)
	for i := 0; i < 3; i++ {
		require.True(t, b.take(later))
	}
	require.False(t, b.take(later))
	// A clock going backwards never adds tokens.
	require.False(t, b.take(later.Add(-time.Minute)))
}

func TestOptionsNormalized(t *testing.T) {
	o := Options{}.normalized()
	require.Equal(t, uint32(16<<20), o.ConnWindowSize)
	require.Equal(t, 10*time.Second, o.SettingsTimeout)
	require.Equal(t, 1000, o.Limits.MaxHeaderListPairs)
	require.Equal(t, 128, o.Limits.MaxContinuationFrames)
	require.Equal(t, 10000, o.Limits.MaxQueuedControlFrames)
	require.Equal(t, 400, o.Limits.MaxHandlerQueue)
	o = Options{ConnWindowSize: 1 << 31, Limits: Limits{ResetBurst: 5}}.normalized()
	require.Equal(t, uint32(maxWindow), o.ConnWindowSize)
	require.Equal(t, 5, o.Limits.ResetBurst)
}

// TestCompleteRequestHeaderKeepsACanonicalHeader: a header that already
// starts with :method, :scheme, :path and :authority is used as it is (no
// copy); any other shape is completed into a new slice.
func TestCompleteRequestHeaderKeepsACanonicalHeader(t *testing.T) {
	s := &Session{opts: &Options{}, authority: "example.com"}
	canon := Header{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/p"},
		{Name: ":authority", Value: "a"}, {Name: "te", Value: "trailers"}}
	out, err := s.completeRequestHeader(canon)
	require.NoError(t, err)
	require.Same(t, &canon[0], &out[0], "used as it is")

	for name, hdr := range map[string]Header{
		"no scheme":    {{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}},
		"out of order": {{Name: ":path", Value: "/"}, {Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "a"}},
		"empty value":  {{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}, {Name: ":authority", Value: ""}},
		"extra pseudo": {{Name: ":method", Value: "CONNECT"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}, {Name: ":authority", Value: "a"}, {Name: ":protocol", Value: "websocket"}},
		"CONNECT":      {{Name: ":method", Value: "CONNECT"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}, {Name: ":authority", Value: "a"}},
	} {
		out, err := s.completeRequestHeader(hdr)
		require.NoError(t, err, name)
		require.NotSame(t, &hdr[0], &out[0], name)
		require.Equal(t, ":method", out[0].Name, name)
	}
	_, err = s.completeRequestHeader(Header{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/p"},
		{Name: ":authority", Value: "a"}, {Name: "Bad", Value: "x"}})
	require.Error(t, err, "the fast path still validates")
}

// TestFieldValidationMatchesTheRFC checks the lookup tables byte by byte
// against RFC 9113 §8.2.1 and RFC 9110's token rule.
func TestFieldValidationMatchesTheRFC(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		token := c > 0x20 && c < 0x7f && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
		require.Equal(t, token && !(b >= 'A' && b <= 'Z'), validFieldName("a"+string(b)+"b"), "name byte %#x", c)
		require.Equal(t, c != 0 && c != '\r' && c != '\n', validFieldValue("a"+string(b)+"b"), "value byte %#x", c)
	}
	require.False(t, validFieldName(""))
	require.True(t, validFieldValue(""))
	require.False(t, validFieldValue(" a"))
	require.False(t, validFieldValue("a\t"))
	require.True(t, validFieldValue("a b"))
}
