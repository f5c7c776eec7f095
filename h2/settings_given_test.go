package h2

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSettingsPackOnlyWhatIsGiven(t *testing.T) {
	require.Empty(t, Settings{}.Pack(), "nothing given, nothing packed (not MAX_FRAME_SIZE=0)")
	ps, err := UnpackSettings(Settings{}.With(SettingEnablePush, 0).With(SettingMaxConcurrentStreams, 0).Pack())
	require.NoError(t, err)
	require.Equal(t, []Setting{{SettingEnablePush, 0}, {SettingMaxConcurrentStreams, 0}}, ps)
	ps, err = UnpackSettings(Settings{InitialWindowSize: 10, Custom: []Setting{{0xf0, 3}}}.Pack())
	require.NoError(t, err)
	require.Equal(t, []Setting{{SettingInitialWindowSize, 10}, {0xf0, 3}}, ps)

	s := Settings{}.With(SettingHeaderTableSize, 0).With(0xf1, 9)
	v, ok := s.Value(SettingHeaderTableSize)
	require.True(t, ok)
	require.Zero(t, v)
	_, ok = s.Value(SettingMaxFrameSize)
	require.False(t, ok)
	v, ok = s.Value(0xf1)
	require.True(t, ok)
	require.Equal(t, uint32(9), v)
	require.Error(t, Settings{}.With(SettingMaxFrameSize, 0).Validate(), "0 is not a legal MAX_FRAME_SIZE")

	// Zero given explicitly survives the defaults; zero not given does not.
	d := Settings{}.With(SettingInitialWindowSize, 0).withDefaults()
	require.Zero(t, d.InitialWindowSize)
	require.Equal(t, DefaultSettings().MaxConcurrentStreams, d.MaxConcurrentStreams)
}

// TestSettingsZeroAdvertised: a server can advertise 0 streams and a 0
// window; a request is then refused.
func TestSettingsZeroAdvertised(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: okHandler}
	srv.Options.Settings = Settings{}.With(SettingMaxConcurrentStreams, 0).With(SettingInitialWindowSize, 0)
	p := newServerPeer(t, srv)
	remote := p.handshake()
	require.Zero(t, remote.MaxConcurrentStreams)
	require.Zero(t, remote.InitialWindowSize)
	p.request(1, true)
	p.expectRST(1, ErrCodeRefusedStream)
}

// TestUpdateSettingsEveryField: every parameter can be changed, to zero and
// off as well, and the peer sees each.
func TestUpdateSettingsEveryField(t *testing.T) {
	goroutineLeakCheck(t)
	seen := make(chan Settings, 10)
	srv := &Server{Handler: okHandler}
	srv.Options.Hooks.OnRemoteSettings = func(_ *Session, s Settings) { seen <- s }
	opts := &ClientOptions{}
	opts.Settings.EnablePush = true
	opts.Settings.EnableConnectProtocol = true
	c := memPair(t, srv, opts)
	first := <-seen
	require.True(t, first.EnablePush)
	require.ErrorContains(t, c.UpdateSettings(ctxT(t), Settings{}.With(SettingEnableConnectProtocol, 0)), "RFC 8441")
	update := Settings{}.With(SettingEnablePush, 0).With(SettingHeaderTableSize, 0).
		With(SettingMaxConcurrentStreams, 0).With(SettingInitialWindowSize, 0).With(SettingNoRFC7540Priorities, 1).
		With(SettingMaxFrameSize, 1<<15).With(SettingMaxHeaderListSize, 5000).With(0xf0, 77)
	require.NoError(t, c.UpdateSettings(ctxT(t), update))
	got := <-seen
	want := Settings{HeaderTableSize: 0, EnablePush: false, MaxConcurrentStreams: 0, InitialWindowSize: 0,
		MaxFrameSize: 1 << 15, MaxHeaderListSize: 5000, EnableConnectProtocol: true, NoRFC7540Priorities: true}
	for _, id := range knownSettings {
		w, _ := want.Value(id)
		g, _ := got.Value(id)
		require.Equal(t, w, g, "%s", id)
	}
	require.Equal(t, []Setting{{0xf0, 77}}, got.Custom, "custom settings sent and reported")
	l := c.LocalSettings()
	require.False(t, l.EnablePush)
	require.Zero(t, l.InitialWindowSize)
}

func TestCustomSettingsFromPeerBounded(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	var ps []Setting
	for i := 0; i < 30; i++ {
		ps = append(ps, Setting{SettingID(0x100 + i), uint32(i)})
	}
	p.serverHandshake(ps...)
	require.Len(t, p.sess.RemoteSettings().Custom, 30)
	ps = ps[:0]
	for i := 30; i < 90; i++ {
		ps = append(ps, Setting{SettingID(0x100 + i), uint32(i)})
	}
	p.mustWrite(AppendSettings(nil, ps[:30]...))
	p.mustWrite(AppendSettings(nil, ps[30:]...))
	p.expect("SETTINGS ack", func(f rawFrame) bool { return f.Type == FrameSettings && f.Flags.Has(FlagAck) })
	p.expect("SETTINGS ack", func(f rawFrame) bool { return f.Type == FrameSettings && f.Flags.Has(FlagAck) })
	require.Len(t, p.sess.RemoteSettings().Custom, maxCustomSettings)
}

func TestMaxSettingsPerFrame(t *testing.T) {
	goroutineLeakCheck(t)
	many := func(n int) []byte {
		var b []byte
		for i := 0; i < n; i++ {
			b = binary.BigEndian.AppendUint16(b, uint16(SettingHeaderTableSize))
			b = binary.BigEndian.AppendUint32(b, 4096)
		}
		return b
	}
	p := newServerPeer(t, &Server{Handler: okHandler})
	p.handshake()
	p.mustWrite(appendRaw(nil, FrameSettings, 0, 0, many(32)))
	p.expect("SETTINGS ack", func(f rawFrame) bool { return f.Type == FrameSettings && f.Flags.Has(FlagAck) })
	p.mustWrite(appendRaw(nil, FrameSettings, 0, 0, many(33)))
	p.expectGoAway(ErrCodeEnhanceYourCalm)
}

// TestServerUpdateSettings: the server's sessions all take the new
// settings, and sessions accepted later start with them.
func TestServerUpdateSettings(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: okHandler}
	addr := newTestServer(t, srv)
	a, b := dialTest(t, addr, nil), dialTest(t, addr, nil)
	for _, c := range []*Session{a, b} {
		_, err := c.Ping(ctxT(t), [8]byte{}) // the session is up on both ends
		require.NoError(t, err)
	}
	require.NoError(t, srv.UpdateSettings(ctxT(t), Settings{MaxConcurrentStreams: 7}.With(0xf0, 1)))
	for _, c := range []*Session{a, b} {
		require.Eventually(t, func() bool { return c.RemoteSettings().MaxConcurrentStreams == 7 }, waitLong, time.Millisecond)
		require.Equal(t, []Setting{{0xf0, 1}}, c.RemoteSettings().Custom)
	}
	late := dialTest(t, addr, nil)
	_, err := late.Ping(ctxT(t), [8]byte{})
	require.NoError(t, err)
	require.Equal(t, uint32(7), late.RemoteSettings().MaxConcurrentStreams)
	require.Error(t, srv.UpdateSettings(ctxT(t), Settings{}.With(SettingMaxFrameSize, 1)))
}

func TestConnectProtocolCannotBeTurnedOff(t *testing.T) {
	goroutineLeakCheck(t)
	p := newClientPeer(t, nil)
	p.serverHandshake(Setting{SettingEnableConnectProtocol, 1})
	require.True(t, p.sess.RemoteSettings().EnableConnectProtocol)
	p.mustWrite(AppendSettings(nil, Setting{SettingEnableConnectProtocol, 0}))
	p.expectGoAway(ErrCodeProtocol)
}

func TestSettingsEqual(t *testing.T) {
	require.True(t, DefaultSettings().Equal(DefaultSettings()))
	require.True(t, Settings{}.Equal(Settings{}))
	require.False(t, Settings{}.Equal(Settings{}.With(SettingEnablePush, 0)), "given zero differs from not given")
	require.False(t, DefaultSettings().Equal(DefaultSettings().With(0xf0, 1)))
}
