// Package balancer chooses, for each call, the connection it goes on. A
// Balancer, chosen by name in the service config (loadBalancingConfig),
// gets the resolver's addresses, makes a SubConn per address it wants, and
// publishes a Picker whenever a SubConn's state changes; the client asks the
// current Picker for a SubConn on every call, without locks. Built in:
// pick_first (the default), round_robin, least_request and
// weighted_round_robin (fed by the load servers report in ORCA trailers).
package balancer
