package balancer

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/h2rpc/h2rpc/internal/registry"
	"github.com/h2rpc/h2rpc/rpc/connectivity"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/resolver"
)

// SubConn is a connection to one address, made and owned by a balancer.
// Its state changes reach the StateListener given to NewSubConn.
type SubConn interface {
	// Connect starts connecting when the SubConn is idle; it reconnects
	// with backoff after failures until shut down or connected.
	Connect()
	// Shutdown removes the SubConn: its connection closes gracefully (calls
	// in flight finish) and it is never used again.
	Shutdown()
	// Address is the address the SubConn connects to.
	Address() resolver.Address
	// State is the SubConn's current state, as its listener last heard it
	// or is about to.
	State() SubConnState
}

// SubConnState is a SubConn's connectivity state; ConnectionError says why
// the last attempt failed when the state is TransientFailure.
type SubConnState struct {
	ConnectivityState connectivity.State
	ConnectionError   error
}

// NewSubConnOptions configure a SubConn.
type NewSubConnOptions struct {
	// StateListener hears every state change of the SubConn, in order, on
	// the goroutine that runs the balancer's methods.
	StateListener func(SubConnState)
	// HealthCheckEnabled lets the client watch the server's health
	// (grpc.health.v1.Health/Watch) on the connection when the service
	// config has a healthCheckConfig: the SubConn is READY only while the
	// server says SERVING. Spreading policies set it; pick_first does not,
	// as in gRFC A17.
	HealthCheckEnabled bool
}

// ClientConn is the client as its balancer sees it.
type ClientConn interface {
	// NewSubConn makes an idle SubConn for addr.
	NewSubConn(addr resolver.Address, opts NewSubConnOptions) (SubConn, error)
	// UpdateState publishes the balancer's aggregate state and the picker
	// that calls use from now on.
	UpdateState(State)
	// ResolveNow asks the resolver to look again.
	ResolveNow()
	// Target is the target the client was made with.
	Target() string
}

// State is a balancer's aggregate state and its picker.
type State struct {
	ConnectivityState connectivity.State
	Picker            Picker
}

// Config is a balancer's parsed configuration (from loadBalancingConfig).
type Config any

// ClientConnState is what the client tells its balancer: the resolver's
// latest state and the balancer's configuration.
type ClientConnState struct {
	ResolverState  resolver.State
	BalancerConfig Config
}

// ErrBadResolverState is returned by UpdateClientConnState when the
// balancer cannot use the addresses (none at all, say); the resolver may
// look again.
var ErrBadResolverState = errors.New("balancer: bad resolver state")

// Balancer turns addresses into SubConns and pickers. The client calls
// its methods one at a time, from one goroutine at a time.
type Balancer interface {
	UpdateClientConnState(ClientConnState) error
	ResolverError(error)
	Close()
}

// ExitIdler is implemented by balancers that connect only when asked
// (pick_first after its connection went away): the client calls ExitIdle
// on ClientConn.Connect.
type ExitIdler interface {
	ExitIdle()
}

// BuildOptions is what the client tells a builder.
type BuildOptions struct {
	Target string
}

// Builder makes balancers of one policy.
type Builder interface {
	Build(cc ClientConn, opts BuildOptions) Balancer
	Name() string
}

// ConfigParser is implemented by builders whose policy takes a
// configuration: ParseConfig gets the JSON object under the policy's name
// in loadBalancingConfig.
type ConfigParser interface {
	ParseConfig(json.RawMessage) (Config, error)
}

// PickInfo describes the call being placed.
type PickInfo struct {
	FullMethodName string
	Ctx            context.Context
}

// DoneInfo tells a picker how a call it placed ended.
type DoneInfo struct {
	Err     error       // nil for OK
	Trailer metadata.MD // the server's trailers (endpoint-load-metrics-bin for ORCA)
}

// PickResult is the SubConn a call goes on, and optionally a function the
// client calls once the call ends (least_request counts calls in flight
// with it). Pickers that want no allocation per call keep one Done per
// SubConn rather than making a closure per pick.
type PickResult struct {
	SubConn SubConn
	Done    func(DoneInfo)
}

// Picker chooses a SubConn for each call. Pick runs on the caller's
// goroutine, concurrently, and must not block. Its errors mean:
// ErrNoSubConnAvailable, wait for the next picker; a status error (from
// rpc/status), fail the call with it; any other error, fail the call with
// UNAVAILABLE unless it waits for ready, which waits for the next picker.
type Picker interface {
	Pick(PickInfo) (PickResult, error)
}

// ErrNoSubConnAvailable makes the call wait for the balancer's next picker.
var ErrNoSubConnAvailable = errors.New("balancer: no SubConn is available")

// ErrorPicker fails every call with its error (a balancer in
// TransientFailure returns one with the last connection error).
type ErrorPicker struct{ Err error }

// Pick returns p.Err.
func (p ErrorPicker) Pick(PickInfo) (PickResult, error) { return PickResult{}, p.Err }

var registered registry.Map[Builder]

// Register makes b available under its name (lower-cased) to every client;
// call it from init.
func Register(b Builder) {
	registered.Register(b.Name(), b)
}

// Get returns the builder registered under name, or nil.
func Get(name string) Builder {
	return registered.Get(name)
}

func init() {
	Register(pickFirstBuilder{})
	Register(roundRobinBuilder{})
	Register(leastRequestBuilder{})
	Register(weightedRoundRobinBuilder{})
}
