// Package reflection implements gRPC server reflection, grpc.reflection.v1
// and v1alpha, so that tools such as grpcurl can list a server's services,
// describe them and make calls from JSON without the .proto files.
package reflection
