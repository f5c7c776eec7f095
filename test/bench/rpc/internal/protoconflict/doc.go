// Package protoconflict lets h2rpc and grpc-go live in one binary: both
// register google/rpc/status.proto (h2rpc's proto/google/rpc and grpc-go's
// genproto dependency), and protobuf-go panics at start-up on such a
// conflict unless GOLANG_PROTOBUF_REGISTRATION_CONFLICT says otherwise.
//
// Importing this package first is enough: the Go spec initialises packages
// in import-path order once their dependencies are done, and this path
// ("github.com/...") sorts before google.golang.org/genproto, whose init is
// the second registration. The variable is only read when a conflict
// happens, so setting it here, before that, takes effect.
package protoconflict
