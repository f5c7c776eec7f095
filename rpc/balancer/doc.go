// Package balancer chooses, for each call, the connection it goes on. A
// Balancer, chosen by name in the service config (loadBalancingConfig),
// gets the resolver's addresses, makes a SubConn per address it wants, and
// publishes a Picker whenever a SubConn's state changes; the client asks the
// current Picker for a SubConn on every call, without locks. Built in:
// round_robin (h2rpc's default), pick_first (grpc-go's), least_request and
// weighted_round_robin (fed by the load servers report in ORCA trailers).
// Other policies (xDS's among them) are written against this API from
// outside and registered with Register.
package balancer
