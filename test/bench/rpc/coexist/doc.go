// Package coexist checks that a program linking both h2rpc and grpc-go
// starts: the two must not register the same protobuf file or message
// names (protobuf-go panics at init on such a conflict unless
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT says otherwise). It has only tests.
package coexist
