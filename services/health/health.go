package health

import (
	"context"
	"sync"

	healthpb "github.com/h2rpc/h2rpc/proto/grpc/health/v1"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Status values, re-exported so callers need not import the generated package.
const (
	Unknown        = healthpb.HealthCheckResponse_UNKNOWN
	Serving        = healthpb.HealthCheckResponse_SERVING
	NotServing     = healthpb.HealthCheckResponse_NOT_SERVING
	ServiceUnknown = healthpb.HealthCheckResponse_SERVICE_UNKNOWN
)

// MaxListed bounds List's answer, as in other gRPC implementations: a
// server with more services than this answers RESOURCE_EXHAUSTED rather
// than one huge message.
const MaxListed = 100

// Server is the health service. The empty service name "" stands for the
// whole server and starts SERVING.
type Server struct {
	mu       sync.Mutex
	statuses map[string]healthpb.HealthCheckResponse_ServingStatus
	watchers map[string]map[chan healthpb.HealthCheckResponse_ServingStatus]struct{}
	shutdown bool

	// draining is closed when the server shuts down: Watch streams end once
	// their client has the latest status, so that they do not hold the
	// graceful shutdown open until its deadline.
	draining  chan struct{}
	drainOnce sync.Once
}

var _ healthpb.HealthServer = (*Server)(nil)

// NewServer returns a health server with "" SERVING.
func NewServer() *Server {
	return &Server{
		statuses: map[string]healthpb.HealthCheckResponse_ServingStatus{"": Serving},
		watchers: map[string]map[chan healthpb.HealthCheckResponse_ServingStatus]struct{}{},
		draining: make(chan struct{}),
	}
}

// Register makes a health server and registers it on r. When r is an
// *rpc.Server (anything with RegisterOnShutdown), the health server also
// reports NOT_SERVING for every service as soon as r begins to shut down,
// before the GOAWAYs, and ends its Watch streams so that they do not hold
// a graceful shutdown open.
func Register(r rpc.ServiceRegistrar) *Server {
	s := NewServer()
	healthpb.RegisterHealthServer(r, s)
	if sd, ok := r.(interface{ RegisterOnShutdown(func()) }); ok {
		sd.RegisterOnShutdown(s.stopServing)
	}
	return s
}

// SetServingStatus sets a service's status and tells its watchers. After
// Shutdown it is ignored, so a late update cannot make a draining server
// look healthy again.
func (s *Server) SetServingStatus(service string, st healthpb.HealthCheckResponse_ServingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return
	}
	s.set(service, st)
}

// set needs s.mu.
func (s *Server) set(service string, st healthpb.HealthCheckResponse_ServingStatus) {
	s.statuses[service] = st
	for ch := range s.watchers[service] {
		// Each watcher holds at most the latest status: a slow watcher
		// skips intermediate ones instead of blocking the setter.
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

// Shutdown sets every service NOT_SERVING and ignores later updates until
// Resume. The server's shutdown calls it (see Register); call it yourself
// to drain a server before stopping it.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	for svc := range s.statuses {
		s.set(svc, NotServing)
	}
}

// Resume accepts updates again and sets every service SERVING.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = false
	for svc := range s.statuses {
		s.set(svc, Serving)
	}
}

// stopServing reports NOT_SERVING and ends the Watch streams once they
// have sent it: a watch never ends by itself and would keep a graceful
// shutdown waiting for its deadline.
func (s *Server) stopServing() {
	s.Shutdown()
	s.drainOnce.Do(func() { close(s.draining) })
}

// GracefulStop reports NOT_SERVING on h, ends its Watch streams, then shuts
// srv down gracefully. With a health server made by Register on srv,
// srv.Shutdown alone does the same; GracefulStop is for one registered
// another way.
func GracefulStop(ctx context.Context, srv *rpc.Server, h *Server) error {
	h.stopServing()
	return srv.Shutdown(ctx)
}

// Check answers the service's status, NOT_FOUND for one never set.
func (s *Server) Check(_ context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	s.mu.Lock()
	st, ok := s.statuses[in.GetService()]
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", in.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// List answers every service's status.
func (s *Server) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.statuses) > MaxListed {
		return nil, status.Errorf(codes.ResourceExhausted, "server health list exceeds maximum capacity: %d", MaxListed)
	}
	out := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse, len(s.statuses))}
	for svc, st := range s.statuses {
		out.Statuses[svc] = &healthpb.HealthCheckResponse{Status: st}
	}
	return out, nil
}

// Watch sends the service's status now (SERVICE_UNKNOWN for one never set)
// and again each time it changes, until the client cancels.
func (s *Server) Watch(in *healthpb.HealthCheckRequest, stream rpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	svc := in.GetService()
	ch := make(chan healthpb.HealthCheckResponse_ServingStatus, 1)
	s.mu.Lock()
	st, ok := s.statuses[svc]
	if !ok {
		st = ServiceUnknown
	}
	ch <- st
	if s.watchers[svc] == nil {
		s.watchers[svc] = map[chan healthpb.HealthCheckResponse_ServingStatus]struct{}{}
	}
	s.watchers[svc][ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers[svc], ch)
		if len(s.watchers[svc]) == 0 {
			delete(s.watchers, svc)
		}
		s.mu.Unlock()
	}()

	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	send := func(st healthpb.HealthCheckResponse_ServingStatus) error {
		if st == last {
			return nil // setting the same status again is not a change
		}
		last = st
		return stream.Send(&healthpb.HealthCheckResponse{Status: st})
	}
	ctx := stream.Context()
	for {
		select {
		case st := <-ch:
			if err := send(st); err != nil {
				return err
			}
		case <-s.draining:
			// Shutdown queued NOT_SERVING before draining was closed.
			select {
			case st := <-ch:
				return send(st)
			default:
				return nil
			}
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}
