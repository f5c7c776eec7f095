package resolver

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DNSOptions configure a dns resolver builder.
type DNSOptions struct {
	// Resolver looks names up; nil means net.DefaultResolver, or, for a
	// target that names a DNS server (dns://10.0.0.53:53/host:port), a Go
	// resolver that asks that server.
	Resolver *net.Resolver
	// Server, when set ("127.0.0.1:5353"), is the DNS server every lookup
	// asks (over UDP, then TCP for truncated answers), whatever the system
	// is configured with: for tests, and for clients that must not depend on
	// /etc/resolv.conf. It takes precedence over Resolver.
	Server string
	// MinResolveInterval is the least time between two lookups, however
	// often the client asks (connections dropping, GOAWAYs): 30 s if zero,
	// as in grpc-go. A lookup that failed is retried with backoff from 1 s
	// up to this interval.
	MinResolveInterval time.Duration
	// RefreshInterval, when positive, looks again this often even when no
	// connection changed, so that new servers are found without waiting for
	// an old one to go away.
	RefreshInterval time.Duration
}

// DefaultMinResolveInterval is the least time between two DNS lookups of one
// target unless DNSOptions says otherwise.
const DefaultMinResolveInterval = 30 * time.Second

// defaultDNSPort is the port of a dns target without one: HTTPS's, as in gRPC.
const defaultDNSPort = "443"

// NewDNSBuilder returns a builder for "dns" targets, dns:///host:port or
// dns://server/host:port, with the given options. The one registered by
// default uses the zero DNSOptions; give a client another with
// rpc.WithResolvers(resolver.NewDNSBuilder(...)).
func NewDNSBuilder(o DNSOptions) Builder {
	if o.MinResolveInterval <= 0 {
		o.MinResolveInterval = DefaultMinResolveInterval
	}
	return &dnsBuilder{opts: o}
}

type dnsBuilder struct{ opts DNSOptions }

func (b *dnsBuilder) Scheme() string { return "dns" }

func (b *dnsBuilder) Build(t Target, cc ClientConn, _ BuildOptions) (Resolver, error) {
	host, port, err := splitHostPort(t.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("resolver: dns target %q: %w", t.Raw, err)
	}
	r := &dnsResolver{
		cc: cc, host: host, port: port, opts: b.opts,
		lookup: b.opts.Resolver, now: make(chan struct{}, 1), done: make(chan struct{}),
	}
	switch {
	case b.opts.Server != "":
		r.lookup = serverResolver(b.opts.Server)
	case t.Authority != "":
		r.lookup = serverResolver(withPort(t.Authority, "53"))
	case r.lookup == nil:
		r.lookup = net.DefaultResolver
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if ip := net.ParseIP(host); ip != nil {
		// A literal address needs no lookup, now or ever.
		r.cancel()
		close(r.done)
		if err := cc.UpdateState(State{Addresses: []Address{{Addr: net.JoinHostPort(host, port)}}}); err != nil {
			return nil, err
		}
		return r, nil
	}
	go r.run()
	return r, nil
}

// serverResolver is a Go resolver that sends every query to addr.
func serverResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func splitHostPort(endpoint string) (host, port string, err error) {
	if endpoint == "" {
		return "", "", ErrEmptyTarget
	}
	host, port, err = net.SplitHostPort(withPort(endpoint, defaultDNSPort))
	if err == nil && host == "" {
		err = ErrEmptyTarget
	}
	return host, port, err
}

// withPort adds port to an address that has none ("host", "10.0.0.1",
// "[::1]", "::1").
func withPort(addr, port string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	return net.JoinHostPort(host, port)
}

// dnsResolver looks its host up in a goroutine of its own: at start, on
// ResolveNow (at most once per MinResolveInterval), every RefreshInterval,
// and after failures with backoff.
type dnsResolver struct {
	cc     ClientConn
	host   string
	port   string
	opts   DNSOptions
	lookup *net.Resolver
	now    chan struct{} // ResolveNow's wake-up, one pending at most
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	last   time.Time // when the last lookup ended; run's goroutine only
}

func (r *dnsResolver) ResolveNow() {
	select {
	case r.now <- struct{}{}:
	default:
	}
}

func (r *dnsResolver) Close() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

func (r *dnsResolver) run() {
	defer close(r.done)
	failures := 0
	for {
		ok := r.resolve()
		var wait <-chan time.Time
		var retry *time.Timer
		if ok {
			failures = 0
			if r.opts.RefreshInterval > 0 {
				retry = time.NewTimer(r.opts.RefreshInterval)
				wait = retry.C
			}
		} else {
			failures++
			retry = time.NewTimer(min(time.Second<<min(failures-1, 16), r.opts.MinResolveInterval))
			wait = retry.C
		}
		select {
		case <-r.ctx.Done():
			stopTimer(retry)
			return
		case <-r.now:
		case <-wait:
		}
		stopTimer(retry)
		if ok {
			// Asked again (or refreshing): no sooner than the minimum
			// interval after the last lookup, however often asked.
			if !r.sleep(r.opts.MinResolveInterval) {
				return
			}
			select {
			case <-r.now: // asked meanwhile: the lookup about to run answers it
			default:
			}
		}
	}
}

// sleep waits d from now, or returns false when the resolver closes first.
// The lookup that ran just before counts as the start of d: run calls it
// right after a ResolveNow or the refresh, so the interval is measured from
// whichever comes first, never shorter than d between lookups.
func (r *dnsResolver) sleep(d time.Duration) bool {
	t := time.NewTimer(d - time.Since(r.last))
	defer t.Stop()
	select {
	case <-r.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// resolve looks the host up once and tells the client.
func (r *dnsResolver) resolve() bool {
	ips, err := r.lookup.LookupHost(r.ctx, r.host)
	r.last = time.Now()
	if r.ctx.Err() != nil {
		return true
	}
	if err != nil {
		r.cc.ReportError(fmt.Errorf("resolver: dns lookup of %q: %w", r.host, err))
		return false
	}
	st := State{Addresses: make([]Address, len(ips))}
	for i, ip := range ips {
		st.Addresses[i] = Address{Addr: net.JoinHostPort(ip, r.port)}
	}
	return r.cc.UpdateState(st) == nil
}
