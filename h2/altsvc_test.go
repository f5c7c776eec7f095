package h2

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

type altSvcSeen struct {
	value, origin string
	stream        uint32
}

// extRecorder collects what a client's ALTSVC and ORIGIN hooks report.
type extRecorder struct {
	mu      sync.Mutex
	altSvc  []altSvcSeen
	origins [][]string
	got     chan struct{}
}

func newExtRecorder(h *Hooks) *extRecorder {
	r := &extRecorder{got: make(chan struct{}, 100)}
	h.OnAltSvc = func(_ *Session, value, origin string, id uint32) {
		r.mu.Lock()
		r.altSvc = append(r.altSvc, altSvcSeen{value, origin, id})
		r.mu.Unlock()
		r.got <- struct{}{}
	}
	h.OnOrigin = func(_ *Session, origins []string) {
		r.mu.Lock()
		r.origins = append(r.origins, origins)
		r.mu.Unlock()
		r.got <- struct{}{}
	}
	return r
}

func TestAltSvcAndOriginBothEnds(t *testing.T) {
	goroutineLeakCheck(t)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		require.NoError(t, st.AltSvc(`h3=":443"; ma=3600`))
		require.NoError(t, st.Session().AltSvc("https://A.example:443/ignored", `h2="alt.example:443"`))
		require.NoError(t, st.Session().Origin("https://c.example"))
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}
	srv.Options.Origins = []string{"https://a.example", "https://b.example:8443/path"}
	opts := &ClientOptions{}
	rec := newExtRecorder(&opts.Hooks)
	c := memPair(t, srv, opts)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		<-rec.got
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, []altSvcSeen{{`h3=":443"; ma=3600`, "", st.ID()}, {`h2="alt.example:443"`, "https://a.example", 0}}, rec.altSvc)
	require.Equal(t, [][]string{{"https://a.example", "https://b.example:8443"}, {"https://c.example"}}, rec.origins)
	require.Equal(t, []string{"https://a.example", "https://b.example:8443", "https://c.example"}, c.OriginSet())
}

func altSvcPayload(origin, value string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(len(origin)))
	return append(append(p, origin...), value...)
}

// TestAltSvcAndOriginIgnored: frames the RFCs say a client ignores are
// ignored, and nothing breaks the session.
func TestAltSvcAndOriginIgnored(t *testing.T) {
	goroutineLeakCheck(t)
	opts := &ClientOptions{}
	rec := newExtRecorder(&opts.Hooks)
	p := newClientPeer(t, opts)
	p.serverHandshake()
	st, err := p.sess.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	p.expectHeaders(1)
	for _, f := range [][]byte{
		appendRaw(nil, FrameAltSvc, 0, 0, altSvcPayload("", "h3=\":443\"")),                   // stream 0 without origin
		appendRaw(nil, FrameAltSvc, 0, 1, altSvcPayload("https://x", "h3=\":443\"")),          // a stream with one
		appendRaw(nil, FrameAltSvc, 0, 0, []byte{0}),                                          // too short
		appendRaw(nil, FrameAltSvc, 0, 0, []byte{0, 9, 'a'}),                                  // origin beyond the frame
		appendRaw(nil, FrameAltSvc, 0, 7, altSvcPayload("", "h3=\":443\"")),                   // an idle stream
		appendRaw(nil, FrameOrigin, 0, 1, binary.BigEndian.AppendUint16(nil, 1)),              // on a stream
		appendRaw(nil, FrameOrigin, 0, 0, append(binary.BigEndian.AppendUint16(nil, 5), 'a')), // truncated
	} {
		p.mustWrite(f)
	}
	// And one of each that counts.
	p.mustWrite(appendRaw(nil, FrameAltSvc, 0, 1, altSvcPayload("", "clear")))
	p.mustWrite(appendRaw(nil, FrameOrigin, 0, 0, append(binary.BigEndian.AppendUint16(nil, 9), "https://o"...)))
	<-rec.got
	<-rec.got
	requireLives(t, p, st)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, []altSvcSeen{{"clear", "", 1}}, rec.altSvc)
	require.Equal(t, [][]string{{"https://o"}}, rec.origins)
	require.Equal(t, []string{"https://o"}, p.sess.OriginSet())
}

// TestAltSvcAndOriginFromClientIgnored: a server ignores both frames.
func TestAltSvcAndOriginFromClientIgnored(t *testing.T) {
	goroutineLeakCheck(t)
	p := newServerPeer(t, &Server{Handler: okHandler})
	p.handshake()
	p.mustWrite(appendRaw(nil, FrameAltSvc, 0, 0, altSvcPayload("https://x", "clear")))
	p.mustWrite(appendRaw(nil, FrameOrigin, 0, 0, append(binary.BigEndian.AppendUint16(nil, 9), "https://o"...)))
	p.request(1, true)
	require.Equal(t, "200", p.expectHeaders(1).Fields.Get(":status"))
}

func TestAltSvcAndOriginRefusals(t *testing.T) {
	goroutineLeakCheck(t)
	errs := make(chan error, 8)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		s := st.Session()
		errs <- s.AltSvc("not an origin", "clear")
		errs <- s.AltSvc("https://a", "bad\r\nvalue")
		errs <- s.AltSvc("https://a", string(make([]byte, 20000)))
		errs <- s.AltSvc("https://a", "")
		errs <- s.Origin("https://a", "/relative")
		_ = st.Respond(nil, &RespondOptions{EndStream: true})
	})}
	c := memPair(t, srv, nil)
	_, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.Error(t, <-errs, "case %d", i)
	}
	require.Error(t, c.AltSvc("https://a", "clear"), "clients do not send ALTSVC")
	require.Error(t, c.Origin("https://a"), "clients do not send ORIGIN")
}

func TestCanonicalOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.COM":         "https://example.com",
		"https://example.com:443/x?y": "https://example.com",
		"http://example.com:80":       "http://example.com",
		"http://example.com:8080":     "http://example.com:8080",
		"https://[::1]:8443":          "https://[::1]:8443",
		"https://[::1]":               "https://[::1]",
	} {
		got, err := canonicalOrigin(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "example.com", "/path", "https://user@host", "https://h\x7f"} {
		_, err := canonicalOrigin(bad)
		require.Error(t, err, bad)
	}
	s := &Session{opts: &Options{}, client: true, encrypted: true, authority: "Example.com:443"}
	s.initOriginSet()
	require.Equal(t, []string{"https://example.com"}, s.OriginSet(), "a TLS session starts with its own origin")
}
