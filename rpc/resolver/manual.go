package resolver

import "sync"

// Manual is a resolver whose updates come from the program itself: tests
// push addresses with UpdateState, as a registry would. Give it to one
// client with rpc.WithResolvers(m) and dial "SCHEME:///anything". One Manual
// serves one client at a time.
type Manual struct {
	scheme string

	mu       sync.Mutex
	cc       ClientConn
	initial  *State
	resolves int
	// OnResolveNow, when set before the client builds the resolver, is
	// called (without locks held) on each ResolveNow.
	OnResolveNow func()
}

// NewManual returns a manual resolver builder for scheme.
func NewManual(scheme string) *Manual { return &Manual{scheme: scheme} }

// Scheme returns the scheme given to NewManual.
func (m *Manual) Scheme() string { return m.scheme }

// InitialState is pushed to the client as soon as it builds the resolver.
func (m *Manual) InitialState(s State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initial = &s
}

// Build is called by the client.
func (m *Manual) Build(_ Target, cc ClientConn, _ BuildOptions) (Resolver, error) {
	m.mu.Lock()
	m.cc = cc
	initial := m.initial
	m.mu.Unlock()
	if initial != nil {
		if err := cc.UpdateState(*initial); err != nil {
			return nil, err
		}
	}
	return manualResolver{m}, nil
}

// UpdateState pushes s to the client; before the client has built the
// resolver (it does so on its first call or Connect), s becomes the
// initial state.
func (m *Manual) UpdateState(s State) error {
	m.mu.Lock()
	cc := m.cc
	if cc == nil {
		m.initial = &s
	}
	m.mu.Unlock()
	if cc == nil {
		return nil
	}
	return cc.UpdateState(s)
}

// ReportError tells the client that resolution failed.
func (m *Manual) ReportError(err error) {
	m.mu.Lock()
	cc := m.cc
	m.mu.Unlock()
	if cc != nil {
		cc.ReportError(err)
	}
}

// ResolveNowCount is how many times the client asked to resolve again.
func (m *Manual) ResolveNowCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resolves
}

type manualResolver struct{ m *Manual }

func (r manualResolver) ResolveNow() {
	r.m.mu.Lock()
	r.m.resolves++
	f := r.m.OnResolveNow
	r.m.mu.Unlock()
	if f != nil {
		f()
	}
}

func (r manualResolver) Close() {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	r.m.cc = nil
}
