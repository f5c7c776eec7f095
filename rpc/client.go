package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/h2rpc/h2rpc/rpc/status"
)

const libraryUserAgent = "h2rpc-go/0.1"

// ClientConn is a client's view of one or more servers. It connects lazily,
// on the first call (or Connect): a resolver chosen by the target's scheme
// finds the addresses, a balancer chosen by the service config keeps
// connections to them (subConns, reconnected with exponential backoff) and
// publishes a picker that places each call. docs/client.md draws the flow.
// It is safe for concurrent use.
type ClientConn struct {
	target    string
	authority string
	cfg       clientConfig
	http      *httpCaller // gRPC-Web and Connect calls (client_http.go); nil for gRPC
	scheme    string
	userAgent string
	parsed    resolver.Target
	rb        resolver.Builder

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	// ser runs the balancer's methods and the subConn state listeners one
	// at a time, in order, outside mu.
	ser serializer
	// Owned by ser's goroutine: the balancer and the config it was given.
	bal        balancer.Balancer
	balName    string
	defaultSC  *serviceConfig // WithDefaultServiceConfig, parsed at NewClient
	resolverSC *serviceConfig // the resolver's latest valid one

	picker  atomic.Pointer[pickerGen]
	sc      atomic.Pointer[serviceConfig] // the config in force, read per call
	headers requestHeaders                // the request headers calls start with (client_header.go)
	// configured is closed once the resolver gave its first state or
	// error: until then sc may lack the resolver's service config, and
	// calls wait (awaitConfig). isConfigured is the same, read without it.
	configured   chan struct{}
	isConfigured atomic.Bool
	kaTime       atomic.Int64 // keepalive interval; doubled on each too_many_pings

	mu       sync.Mutex
	subs     []*subConn
	state    connectivity.State // the balancer's aggregate
	changed  chan struct{}      // closed and replaced on every state change
	closed   bool
	building bool // the resolver has been (or is being) built
	res      resolver.Resolver
}

// NewClient creates a ClientConn for target without connecting. Targets:
//
//	host:port                      one server
//	host1:port,host2:port          several
//	passthrough:///host:port       one server, the address used as is
//	dns:///host:port               every address host resolves to, followed as it changes
//	dns://10.0.0.53:53/host:port   the same, asking that DNS server
//	unix:///path/to.sock           a unix domain socket
//	SCHEME:///...                  a resolver registered (resolver.Register) or given (WithResolvers) for SCHEME
//
// Calls are spread round-robin over every address unless the service
// config chooses another balancer.
func NewClient(target string, opts ...DialOption) (*ClientConn, error) {
	cc := &ClientConn{target: target, changed: make(chan struct{})}
	cc.cfg = clientConfig{backoff: DefaultBackoffConfig, minConnect: 20 * time.Second, maxRetries: 5}
	for _, o := range opts {
		o(&cc.cfg)
	}
	if !cc.cfg.securityChosen {
		return nil, errNoSecurity
	}
	if err := cc.cfg.checkCredentials(); err != nil {
		return nil, err
	}
	if err := cc.cfg.checkHTTP1(); err != nil {
		return nil, err
	}
	cc.cfg.unaryInt = ChainUnaryClient(cc.cfg.unaryInts...)
	cc.cfg.streamInt = ChainStreamClient(cc.cfg.streamInts...)
	if cc.cfg.backoff.BaseDelay <= 0 {
		cc.cfg.backoff = DefaultBackoffConfig
	}
	var err error
	cc.parsed, cc.rb, err = resolver.ParseTarget(target, cc.resolverBuilder)
	if err != nil {
		return nil, fmt.Errorf("rpc: bad target %q (use host:port, a comma-separated list, passthrough:///, dns:///, unix: or a registered scheme): %w", target, err)
	}
	if cc.parsed.Endpoint == "" {
		return nil, fmt.Errorf("rpc: empty target %q", target)
	}
	if cc.cfg.defaultSC != "" {
		if cc.defaultSC, err = parseServiceConfig(cc.cfg.defaultSC); err != nil {
			return nil, fmt.Errorf("rpc: WithDefaultServiceConfig: %w", err)
		}
		cc.sc.Store(cc.defaultSC)
	}
	cc.authority = cc.parsed.Endpoint
	if o, ok := cc.rb.(resolver.AuthorityOverrider); ok {
		cc.authority = o.OverrideAuthority(cc.parsed)
	}
	if cc.cfg.authority != "" {
		cc.authority = cc.cfg.authority
	}
	cc.scheme = "http"
	if cc.cfg.tlsConfig != nil {
		cc.scheme = "https"
	}
	cc.userAgent = libraryUserAgent
	if cc.cfg.userAgent != "" {
		cc.userAgent = cc.cfg.userAgent + " " + libraryUserAgent
	}
	cc.kaTime.Store(int64(cc.cfg.keepalive.Time))
	cc.ctx, cc.cancel = context.WithCancel(context.Background())
	cc.picker.Store(&pickerGen{p: idlePicker{cc}, next: make(chan struct{})})
	cc.configured = make(chan struct{})
	cc.initHTTP()
	return cc, nil
}

// resolverBuilder finds the builder for scheme: the client's own first.
func (cc *ClientConn) resolverBuilder(scheme string) resolver.Builder {
	for _, b := range cc.cfg.resolvers {
		if b.Scheme() == scheme {
			return b
		}
	}
	return resolver.Get(scheme)
}

// Target returns the target the ClientConn was created with.
func (cc *ClientConn) Target() string { return cc.target }

// Connect starts resolving and connecting now instead of at the first call.
func (cc *ClientConn) Connect() {
	cc.exitIdle()
	cc.ser.schedule(func() {
		if ei, ok := cc.bal.(balancer.ExitIdler); ok {
			ei.ExitIdle()
		}
	})
}

// exitIdle builds the resolver, once: its first update builds the balancer.
func (cc *ClientConn) exitIdle() {
	cc.mu.Lock()
	if cc.closed || cc.building {
		cc.mu.Unlock()
		return
	}
	cc.building = true
	cc.mu.Unlock()
	r, err := cc.rb.Build(cc.parsed, ccResolver{cc}, resolver.BuildOptions{Dialer: cc.cfg.dialer})
	if err != nil {
		ccResolver{cc}.ReportError(fmt.Errorf("rpc: resolving %q: %w", cc.target, err))
		return
	}
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		r.Close()
		return
	}
	cc.res = r
	cc.mu.Unlock()
}

// resolveNow asks the resolver to look again, if there is one yet.
func (cc *ClientConn) resolveNow() {
	cc.mu.Lock()
	r := cc.res
	cc.mu.Unlock()
	if r != nil {
		r.ResolveNow()
	}
}

// errClosing fails calls made on or waiting in a closed ClientConn.
var errClosing = status.Error(codes.Canceled, "rpc: the client connection is closing")

// Close closes every connection; calls in flight fail with CANCELED and
// later calls fail at once.
func (cc *ClientConn) Close() error {
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return nil
	}
	cc.closed = true
	cc.state = connectivity.Shutdown
	close(cc.changed)
	cc.changed = make(chan struct{})
	cc.setPickerLocked(balancer.ErrorPicker{Err: errClosing})
	subs := cc.subs
	cc.subs = nil
	var sessions []*h2.Session
	for _, sc := range subs {
		if sc.sess != nil {
			sessions = append(sessions, sc.sess)
		}
		sc.state, sc.sess = subShutdown, nil
		sc.ready.Store(nil)
	}
	r := cc.res
	cc.mu.Unlock()
	cc.cancel()
	if r != nil {
		r.Close()
	}
	cc.ser.closeWith(func() {
		if cc.bal != nil {
			cc.bal.Close()
		}
	})
	for _, s := range sessions {
		s.Abort(h2.ErrCodeNo, errors.New("rpc: client connection closed"))
	}
	return nil
}

// awaitConfig waits, before a call reads its method config, for the
// resolver's first state: the service config that state may carry (a
// timeout, a retry policy, message limits) applies to the very first call
// too, as in grpc-go. After that it costs one atomic load.
func (cc *ClientConn) awaitConfig(ctx context.Context) error {
	if cc.isConfigured.Load() {
		return nil
	}
	cc.startResolving()
	select {
	case <-cc.configured:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-cc.ctx.Done():
		return errClosing
	}
}

// startResolving starts the resolver whose first state settles the
// service config: WithHTTP1's, which feeds its connection pool, or else the
// ClientConn's own, which feeds the balancer.
func (cc *ClientConn) startResolving() {
	if cc.http != nil {
		if h, ok := cc.http.t.(*http1Client); ok {
			h.startResolver()
			return
		}
	}
	cc.exitIdle()
}

// markConfigured records the resolver's first state or error; it runs on
// the serializer, or on WithHTTP1's resolver's goroutine.
func (cc *ClientConn) markConfigured() {
	if cc.isConfigured.CompareAndSwap(false, true) {
		close(cc.configured)
	}
}
