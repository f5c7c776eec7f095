package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

// Server serves registered services over HTTP/2 (h2c or TLS) with Serve,
// and over any net/http server as an http.Handler (ServeHTTP). It speaks
// gRPC, gRPC-Web and Connect, chosen per request (protocol.go).
type Server struct {
	opts      serverOptions
	unaryInt  UnaryServerInterceptor
	streamInt StreamServerInterceptor
	h2        *h2.Server

	mu       sync.Mutex
	methods  map[string]*methodInfo // by ":path", read without lock once serving starts
	services map[string]*serviceInfo
	started  bool
	closed   atomic.Bool
	// servingHTTP: ServeHTTP has marked the server started, so later
	// requests skip the lock.
	servingHTTP atomic.Bool
	conns       sync.Map   // *h2.Session -> *connState; looked up on every call, so lock-free
	h1          http1Conns // Serve's HTTP/1.x connections (server_http1.go)

	onShutdown   []func() // under mu
	shutdownOnce sync.Once
}

type serviceInfo struct {
	impl any
	desc *ServiceDesc
}

// methodInfo is what dispatch needs for one ":path", precomputed at
// registration so a call does no string building.
type methodInfo struct {
	srv    *serviceInfo
	full   string
	unary  *MethodDesc
	stream *StreamDesc
	info   *UnaryServerInfo
	sinfo  *StreamServerInfo
}

// connState is the server's bookkeeping for one connection: ping strikes
// for keepalive enforcement and the age timers.
type connState struct {
	// A ping that follows server output is forgiven, as clients (grpc-go's
	// BDP estimator) ping in response to data they receive. Output is seen
	// two ways: dataSent, set by every call that sends headers or messages,
	// and growth of the session's byte count (one large message leaves as
	// many DATA frames, each of which may prompt a ping) beyond what ping
	// acks and window updates alone could explain.
	dataSent atomic.Bool
	active   atomic.Int32         // calls running
	peer     atomic.Pointer[Peer] // built on the first PeerFromContext, then shared

	mu         sync.Mutex
	bytesSent  int64 // the session's output at the previous ping
	lastPing   time.Time
	strikes    int
	calmed     bool // sent GOAWAY ENHANCE_YOUR_CALM: later pings change nothing
	ageTimer   *time.Timer
	graceTimer *time.Timer
}

// maxPingStrikes is how many too-early pings are forgiven, as in grpc-go.
const maxPingStrikes = 2

// NewServer returns a server with the options applied.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{
		methods:  make(map[string]*methodInfo),
		services: make(map[string]*serviceInfo),
	}
	s.opts = serverOptions{maxRecv: defaultMaxRecvMsgSize, maxSend: defaultMaxSendMsgSize, maxStreams: defaultMaxStreams,
		compressMin: DefaultCompressMinBytes}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.enforcement.MinTime == 0 {
		s.opts.enforcement.MinTime = 5 * time.Minute
	}
	s.unaryInt = ChainUnaryServer(s.opts.unaryInts...)
	s.streamInt = ChainStreamServer(s.opts.streamInts...)

	ho := h2.Options{}
	ho.Settings.MaxConcurrentStreams = s.opts.maxStreams
	ho.Settings.MaxFrameSize = maxFrameSize
	ho.Settings.InitialWindowSize = s.opts.windowSize
	ho.ConnWindowSize = s.opts.connWindowSize
	ho.IdleTimeout = s.opts.keepalive.MaxConnectionIdle
	ho.KeepaliveInterval = s.opts.keepalive.Time
	ho.KeepaliveTimeout = s.opts.keepalive.Timeout
	ho.Hooks.OnPing = s.onPing
	ho.Hooks.OnClose = s.onClose
	var tc *tls.Config
	if s.opts.tlsConfig != nil {
		tc = s.opts.tlsConfig.Clone()
		if !containsString(tc.NextProtos, "h2") {
			tc.NextProtos = append([]string{"h2"}, tc.NextProtos...)
		}
		if !containsString(tc.NextProtos, "http/1.1") {
			tc.NextProtos = append(tc.NextProtos, "http/1.1")
		}
	}
	s.h2 = &h2.Server{Handler: h2.HandlerFunc(s.serveStream), Options: ho, TLSConfig: tc, OnSession: s.onSession,
		ServeHTTP1: s.serveHTTP1}
	s.h1.init(s.opts.keepalive.MaxConnectionIdle, s.opts.http1)
	return s
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// RegisterService registers a service implementation. It panics on
// programming errors (registering after serving started, a duplicate
// service, an impl that does not implement HandlerType), like grpc-go, since
// such a server could never work.
func (s *Server) RegisterService(desc *ServiceDesc, impl any) {
	if impl != nil && desc.HandlerType != nil {
		ht := reflect.TypeOf(desc.HandlerType).Elem()
		if !reflect.TypeOf(impl).Implements(ht) {
			panic(fmt.Sprintf("rpc: RegisterService: %T does not implement %v", impl, ht))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		panic("rpc: RegisterService after Serve")
	}
	if _, dup := s.services[desc.ServiceName]; dup {
		panic("rpc: RegisterService: duplicate service " + desc.ServiceName)
	}
	si := &serviceInfo{impl: impl, desc: desc}
	s.services[desc.ServiceName] = si
	for i := range desc.Methods {
		m := &desc.Methods[i]
		full := "/" + desc.ServiceName + "/" + m.MethodName
		s.methods[full] = &methodInfo{srv: si, full: full, unary: m, info: &UnaryServerInfo{Server: impl, FullMethod: full}}
	}
	for i := range desc.Streams {
		d := &desc.Streams[i]
		full := "/" + desc.ServiceName + "/" + d.StreamName
		s.methods[full] = &methodInfo{srv: si, full: full, stream: d,
			sinfo: &StreamServerInfo{FullMethod: full, IsClientStream: d.ClientStreams, IsServerStream: d.ServerStreams}}
	}
}

// ServiceInfo describes a registered service, for reflection services.
type ServiceInfo struct {
	Methods  []string
	Metadata any
}

// GetServiceInfo returns the registered services by name.
func (s *Server) GetServiceInfo() map[string]ServiceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]ServiceInfo, len(s.services))
	for name, si := range s.services {
		var ms []string
		for _, m := range si.desc.Methods {
			ms = append(ms, m.MethodName)
		}
		for _, st := range si.desc.Streams {
			ms = append(ms, st.StreamName)
		}
		out[name] = ServiceInfo{Methods: ms, Metadata: si.desc.Metadata}
	}
	return out
}

func (s *Server) markStarted() {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
}

// Serve accepts connections on l until Shutdown or Stop. It returns
// ErrServerClosed after those, as net/http does. HTTP/2 clients (h2c with
// prior knowledge, or TLS with ALPN "h2") and HTTP/1.x clients (cleartext,
// or TLS with ALPN "http/1.1") share the port: gRPC-Web and Connect calls
// are served over both, on our own engine and our own HTTP/1.1
// (server_http1.go); gRPC over HTTP/1.x gets 505.
func (s *Server) Serve(l net.Listener) error {
	s.markStarted()
	err := s.h2.Serve(l)
	if err != nil && s.isClosed() {
		return ErrServerClosed
	}
	return err
}

// ServeConn serves one already-accepted connection until it ends.
func (s *Server) ServeConn(c net.Conn) {
	s.markStarted()
	s.h2.ServeConn(c)
}

// ErrServerClosed is returned by Serve after Shutdown or Stop.
var ErrServerClosed = errors.New("rpc: server closed")

func (s *Server) isClosed() bool { return s.closed.Load() }

// Shutdown stops accepting connections and sends every connection a
// GOAWAY (two phases, so requests in flight are not lost), lets running
// RPCs finish, then closes. HTTP/1.x connections waiting for a request are
// closed at once, those serving one after its response. When ctx ends first
// the remaining connections are closed at once and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closed.Store(true)
	s.runOnShutdown(ctx.Done())
	h1 := make(chan error, 1)
	go func() { h1 <- s.h1.shutdown(ctx) }()
	err := s.h2.Shutdown(ctx)
	if err1 := <-h1; err == nil {
		err = err1
	}
	return err
}

// Stop closes all listeners and connections at once; running RPCs fail.
func (s *Server) Stop() {
	s.closed.Store(true)
	s.runOnShutdown(nil)
	_ = s.h2.Close()
	s.h1.closeAll()
}

// RegisterOnShutdown registers f to run once, in its own goroutine, when
// Shutdown or Stop is first called (like net/http's RegisterOnShutdown); a
// health service uses it to report NOT_SERVING. Shutdown waits for the
// functions to return (or its ctx to end) before it sends the GOAWAYs, so
// what they announce is in place before clients are told to go; Stop does
// not wait. Registering after shutdown began has no effect.
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	s.onShutdown = append(s.onShutdown, f)
	s.mu.Unlock()
}

// runOnShutdown starts the shutdown functions, once, and waits for them
// until they return or done closes (a nil done: no wait).
func (s *Server) runOnShutdown(done <-chan struct{}) {
	s.shutdownOnce.Do(func() {
		s.mu.Lock()
		fs := s.onShutdown
		s.onShutdown = nil
		s.mu.Unlock()
		var wg sync.WaitGroup
		for _, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f()
			}()
		}
		if done == nil {
			return
		}
		all := make(chan struct{})
		go func() {
			wg.Wait()
			close(all)
		}()
		select {
		case <-all:
		case <-done:
		}
	})
}

func (s *Server) onSession(sess *h2.Session) {
	if s.closed.Load() {
		return
	}
	cs := &connState{}
	s.conns.Store(sess, cs)
	if h := s.opts.hooks.conns; h != nil {
		trackConn(h, sess, false)
	}
	if age := s.opts.keepalive.MaxConnectionAge; age > 0 {
		// ±10% jitter spreads the reconnections of clients that connected together.
		jit := time.Duration((rand.Float64()*0.2 - 0.1) * float64(age))
		cs.ageTimer = time.AfterFunc(age+jit, func() {
			if g := s.opts.keepalive.MaxConnectionAgeGrace; g > 0 {
				cs.mu.Lock()
				cs.graceTimer = time.AfterFunc(g, func() {
					sess.Abort(h2.ErrCodeNo, errors.New("rpc: max connection age grace elapsed"))
				})
				cs.mu.Unlock()
			}
			// GOAWAY: no new streams, running ones finish. Close blocks
			// until the session ends, so the grace timer is armed first.
			_ = sess.Close()
		})
	}
}

func (s *Server) onClose(sess *h2.Session, _ error) {
	v, ok := s.conns.LoadAndDelete(sess)
	if !ok {
		return
	}
	cs := v.(*connState)
	cs.mu.Lock()
	if cs.ageTimer != nil {
		cs.ageTimer.Stop()
	}
	if cs.graceTimer != nil {
		cs.graceTimer.Stop()
	}
	cs.mu.Unlock()
}

func (s *Server) connState(sess *h2.Session) *connState {
	v, _ := s.conns.Load(sess)
	cs, _ := v.(*connState)
	return cs
}

// onPing enforces the keepalive policy. It runs on the session's reader:
// it must not wait for the session (AbortAsync), and it must do nothing
// per ping that a flood could pile up (the reader reads on for a moment
// after the GOAWAY; those pings find calmed set).
func (s *Server) onPing(sess *h2.Session, _ [8]byte) {
	cs := s.connState(sess)
	if cs == nil {
		return
	}
	now := time.Now()
	sent := sess.Stats().BytesSent
	cs.mu.Lock()
	if cs.calmed {
		cs.mu.Unlock()
		return
	}
	const controlNoise = 1024 // far more than the acks and window updates between two pings
	prev := cs.bytesSent
	cs.bytesSent = sent
	if cs.dataSent.Swap(false) || sent-prev > controlNoise {
		cs.strikes = 0
		cs.lastPing = now
		cs.mu.Unlock()
		return
	}
	min := s.opts.enforcement.MinTime
	if cs.active.Load() == 0 && !s.opts.enforcement.PermitWithoutStream {
		min = 2 * time.Hour // no RPCs: pings are not needed at all
	}
	if !cs.lastPing.IsZero() && now.Sub(cs.lastPing) < min {
		cs.strikes++
	}
	cs.lastPing = now
	bad := cs.strikes > maxPingStrikes
	cs.calmed = bad
	cs.mu.Unlock()
	if bad {
		// The debug data "too_many_pings" is what gRPC clients look for to
		// back off their keepalive interval.
		sess.AbortAsync(h2.ErrCodeEnhanceYourCalm, &h2.ConnError{Code: h2.ErrCodeEnhanceYourCalm, Reason: "too_many_pings"})
	}
}

// streamStarted and streamEnded keep the active count for the ping policy.
func (cs *connState) streamStarted() { cs.active.Add(1) }

func (cs *connState) streamEnded() { cs.active.Add(-1) }

// lookup finds the method for a ":path"; the second result says whether
// the service exists, for the error message.
func (s *Server) lookup(path string) (*methodInfo, bool) {
	if m, ok := s.methods[path]; ok {
		return m, true
	}
	if len(path) > 1 {
		if i := strings.LastIndexByte(path, '/'); i > 0 {
			s.mu.Lock()
			_, ok := s.services[path[1:i]]
			s.mu.Unlock()
			return nil, ok
		}
	}
	return nil, false
}
