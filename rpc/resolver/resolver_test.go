package resolver

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		raw                         string
		scheme, authority, endpoint string
	}{
		{"localhost:50051", "passthrough", "", "localhost:50051"},
		{"10.0.0.1:80,10.0.0.2:80", "passthrough", "", "10.0.0.1:80,10.0.0.2:80"},
		{"127.0.0.1", "passthrough", "", "127.0.0.1"},
		{"[::1]:80", "passthrough", "", "[::1]:80"},
		{"dns:///example.com:443", "dns", "", "example.com:443"},
		{"dns://8.8.8.8/example.com", "dns", "8.8.8.8", "example.com"},
		{"DNS:///example.com", "dns", "", "example.com"},
		{"passthrough:///a:1", "passthrough", "", "a:1"},
		{"unix:///tmp/s.sock", "unix", "", "tmp/s.sock"},
		{"unix:rel.sock", "unix", "", "rel.sock"},
	} {
		tg, b, err := ParseTarget(tc.raw, Get)
		require.NoError(t, err, tc.raw)
		require.NotNil(t, b, tc.raw)
		require.Equal(t, tc.scheme, tg.Scheme, tc.raw)
		require.Equal(t, tc.scheme, b.Scheme(), tc.raw)
		require.Equal(t, tc.authority, tg.Authority, tc.raw)
		require.Equal(t, tc.endpoint, tg.Endpoint, tc.raw)
	}
	_, _, err := ParseTarget("etcd:///svc", Get)
	require.ErrorIs(t, err, ErrNoScheme)
}

// recorder is a ClientConn that keeps what a resolver pushed.
type recorder struct {
	mu      sync.Mutex
	states  []State
	errs    []error
	updated chan struct{}
}

func newRecorder() *recorder { return &recorder{updated: make(chan struct{}, 100)} }

func (r *recorder) UpdateState(s State) error {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.updated <- struct{}{}
	return nil
}

func (r *recorder) ReportError(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	r.updated <- struct{}{}
}

func (r *recorder) addrs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return nil
	}
	var out []string
	for _, a := range r.states[len(r.states)-1].Addresses {
		out = append(out, a.Addr)
	}
	return out
}

func (r *recorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.updated:
	case <-time.After(5 * time.Second):
		t.Fatal("no update from the resolver")
	}
}

func build(t *testing.T, raw string, lookup func(string) Builder) (*recorder, Resolver, error) {
	t.Helper()
	tg, b, err := ParseTarget(raw, lookup)
	require.NoError(t, err)
	rec := newRecorder()
	r, err := b.Build(tg, rec, BuildOptions{})
	if r != nil {
		t.Cleanup(r.Close)
	}
	return rec, r, err
}

func TestPassthroughAndUnix(t *testing.T) {
	rec, _, err := build(t, "a:1, b:2", Get)
	require.NoError(t, err)
	require.Equal(t, []string{"a:1", "b:2"}, rec.addrs())
	require.Equal(t, "a:1", passthroughBuilder{}.OverrideAuthority(Target{Endpoint: "a:1,b:2"}))

	_, _, err = build(t, "passthrough:///", Get)
	require.ErrorIs(t, err, ErrEmptyTarget)

	rec, _, err = build(t, "unix:///tmp/x.sock", Get)
	require.NoError(t, err)
	require.Equal(t, []string{"unix:/tmp/x.sock"}, rec.addrs())
	rec, _, err = build(t, "unix:rel.sock", Get)
	require.NoError(t, err)
	require.Equal(t, []string{"unix:rel.sock"}, rec.addrs())
	_, _, err = build(t, "unix:", Get)
	require.ErrorIs(t, err, ErrEmptyTarget)
}

func TestManual(t *testing.T) {
	m := NewManual("test")
	m.InitialState(State{Addresses: []Address{{Addr: "x:1"}}})
	lookup := func(s string) Builder {
		if s == "test" {
			return m
		}
		return Get(s)
	}
	rec, r, err := build(t, "test:///whatever", lookup)
	require.NoError(t, err)
	require.Equal(t, []string{"x:1"}, rec.addrs())
	require.NoError(t, m.UpdateState(State{Addresses: []Address{{Addr: "y:2"}}}))
	require.Equal(t, []string{"y:2"}, rec.addrs())
	r.ResolveNow()
	require.Equal(t, 1, m.ResolveNowCount())
	m.ReportError(errors.New("boom"))
	require.Len(t, rec.errs, 1)
}
