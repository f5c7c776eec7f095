// Package validate rejects invalid messages: on the server before the
// handler runs (INVALID_ARGUMENT to the client), on the client before a
// request leaves the process.
//
// A message is checked against its protovalidate rules (the buf.validate
// annotations of its .proto, evaluated by buf.build/go/protovalidate); a
// failure carries a google.rpc.BadRequest detail with one field violation
// per broken rule, which any gRPC client can read (grpc-go's
// status.FromError(err).Details()). A message that also has a
// Validate() error method (the protoc-gen-validate style) has it called
// after its rules pass.
package validate
