// Package protoconflict lets h2rpc's generated packages and grpc-go's live
// in one test binary. Both register the same .proto files (health,
// reflection, google/rpc/status) and protobuf-go panics at start-up on the
// second registration unless GOLANG_PROTOBUF_REGISTRATION_CONFLICT allows it.
//
// Packages initialise in import-path order once their dependencies are
// done, so this package (github.com/...) runs before grpc-go's
// (google.golang.org/...), whose registrations are the second ones; the
// variable is read only when a conflict happens. With "warn" the first
// registration, h2rpc's, stays in protoregistry.GlobalFiles.
package protoconflict

import "os"

func init() {
	if os.Getenv("GOLANG_PROTOBUF_REGISTRATION_CONFLICT") == "" {
		_ = os.Setenv("GOLANG_PROTOBUF_REGISTRATION_CONFLICT", "ignore")
	}
}
