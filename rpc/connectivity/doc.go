// Package connectivity names the states of a client's connections, as in
// gRPC's connectivity-semantics document. It is a package of its own so
// that balancers (rpc/balancer) and the client (rpc) share one type.
package connectivity
