// Package status carries the outcome of an RPC: a code, a message and
// optional typed details, stored as a google.rpc.Status so that it travels
// in grpc-status-details-bin and interoperates with other gRPC stacks.
package status
