// Package codes defines the 17 canonical gRPC status codes, with the same
// numeric values as every other gRPC implementation, so that they travel
// unchanged in the grpc-status trailer.
package codes
