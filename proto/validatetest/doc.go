// Package validatetest holds messages with protovalidate (buf.validate)
// rules, for the tests of interceptors/validate. Regenerate with
//
//	go generate ./proto/...
//
// which runs ./internal/gen: buf/validate/validate.proto ships only as
// generated Go code, so that program links it and hands its descriptor to
// the generator (codegen.Options.Linked) instead of a vendored copy.
package validatetest

//go:generate go run ./internal/gen
