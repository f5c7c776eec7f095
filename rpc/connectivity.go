package rpc

import (
	"context"

	"github.com/h2rpc/h2rpc/rpc/connectivity"
)

// ConnectivityState summarizes a ClientConn's connections, as in gRPC.
type ConnectivityState = connectivity.State

// The states, from the gRPC connectivity-semantics document.
const (
	Idle             = connectivity.Idle             // not resolving or connecting yet (before the first call)
	Connecting       = connectivity.Connecting       // connections are being made
	Ready            = connectivity.Ready            // the balancer has a connection to place calls on
	TransientFailure = connectivity.TransientFailure // every address failed; retrying with backoff
	Shutdown         = connectivity.Shutdown         // Close was called
)

// GetState returns the balancer's aggregate state (for round_robin: READY
// if any address is ready, else CONNECTING while one is being tried for the
// first time, else TRANSIENT_FAILURE), IDLE before the first call or Connect,
// SHUTDOWN after Close.
func (cc *ClientConn) GetState() ConnectivityState {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.state
}

// WaitForStateChange waits until the state differs from source and reports
// true, or returns false when ctx ends first.
func (cc *ClientConn) WaitForStateChange(ctx context.Context, source ConnectivityState) bool {
	for {
		cc.mu.Lock()
		st, ch := cc.state, cc.changed
		cc.mu.Unlock()
		if st != source {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// SubConnState is one address's connection state, as GetSubConnStates
// reports it.
type SubConnState struct {
	Addr      string
	State     ConnectivityState
	LastError error // why the last connection attempt failed, while it is retried
}

// GetSubConnStates returns the state of the connection to every address
// the balancer keeps, in the order they were made.
func (cc *ClientConn) GetSubConnStates() []SubConnState {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := make([]SubConnState, len(cc.subs))
	for i, sc := range cc.subs {
		out[i] = SubConnState{Addr: sc.addr.Addr, State: sc.state, LastError: sc.lastErr}
	}
	return out
}
