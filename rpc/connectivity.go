package rpc

import "context"

// ConnectivityState summarizes a ClientConn's connections, as in gRPC.
type ConnectivityState int

// The states, from the gRPC connectivity-semantics document.
const (
	Idle             ConnectivityState = iota // no connection and none being made
	Connecting                                // a connection is being made
	Ready                                     // at least one connection is up
	TransientFailure                          // every address failed; retrying with backoff
	Shutdown                                  // Close was called
)

var stateNames = [...]string{"IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE", "SHUTDOWN"}

func (s ConnectivityState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "INVALID_STATE"
}

// GetState returns the aggregate state: READY if any address is ready,
// else CONNECTING if any is connecting, else TRANSIENT_FAILURE if all have
// failed, else IDLE.
func (cc *ClientConn) GetState() ConnectivityState {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.stateLocked()
}

func (cc *ClientConn) stateLocked() ConnectivityState {
	if cc.closed {
		return Shutdown
	}
	connecting, failed := false, 0
	for _, sc := range cc.subs {
		switch sc.state {
		case subReady:
			return Ready
		case subConnecting:
			connecting = true
		case subFailure:
			failed++
		}
	}
	switch {
	case connecting:
		return Connecting
	case failed > 0 && failed == len(cc.subs):
		return TransientFailure
	}
	return Idle
}

// WaitForStateChange waits until the state differs from source and reports
// true, or returns false when ctx ends first.
func (cc *ClientConn) WaitForStateChange(ctx context.Context, source ConnectivityState) bool {
	for {
		cc.mu.Lock()
		st, ch := cc.stateLocked(), cc.changed
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
