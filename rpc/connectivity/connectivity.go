package connectivity

// State is the state of one subchannel, or of a whole client.
type State int

// The states, from the gRPC connectivity-semantics document.
const (
	Idle             State = iota // no connection and none being made
	Connecting                    // a connection is being made
	Ready                         // a connection is up (for a client: at least one)
	TransientFailure              // the last attempt failed; retrying with backoff
	Shutdown                      // closed for good
)

var names = [...]string{"IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE", "SHUTDOWN"}

func (s State) String() string {
	if s >= 0 && int(s) < len(names) {
		return names[s]
	}
	return "INVALID_STATE"
}
