package codes

import (
	"fmt"
	"strconv"
	"strings"
)

// Code is a gRPC status code. The numeric values are fixed by the gRPC
// protocol and appear verbatim on the wire in grpc-status.
type Code uint32

// The canonical codes, see https://github.com/grpc/grpc/blob/master/doc/statuscodes.md.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

// numCodes is one past the largest canonical code.
const numCodes = 17

// names are the upper-snake-case names used by the gRPC spec, JSON and
// environment variables; String returns the Go-style CamelCase names.
var names = [numCodes]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

var goNames = [numCodes]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
	"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
	"FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
	"Internal", "Unavailable", "DataLoss", "Unauthenticated",
}

// String returns the Go name of the code ("DeadlineExceeded"), or
// "Code(N)" for a value outside the canonical set.
func (c Code) String() string {
	if c < numCodes {
		return goNames[c]
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// SpecName returns the spec's name of the code ("DEADLINE_EXCEEDED").
func (c Code) SpecName() string {
	if c < numCodes {
		return names[c]
	}
	return c.String()
}

// Valid reports whether c is one of the 17 canonical codes.
func (c Code) Valid() bool { return c < numCodes }

// Parse accepts a code as a decimal number ("4"), a spec name
// ("DEADLINE_EXCEEDED") or a Go name ("DeadlineExceeded"), case-insensitively.
// "CANCELED" is accepted as well as the spec's "CANCELLED".
func Parse(s string) (Code, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		if n >= numCodes {
			return 0, fmt.Errorf("codes: %d is not a canonical gRPC code", n)
		}
		return Code(n), nil
	}
	for i := range names {
		if strings.EqualFold(s, names[i]) || strings.EqualFold(s, goNames[i]) {
			return Code(i), nil
		}
	}
	if strings.EqualFold(s, "CANCELED") {
		return Canceled, nil
	}
	return 0, fmt.Errorf("codes: unknown code %q", s)
}

// UnmarshalText implements encoding.TextUnmarshaler with Parse's syntax,
// so codes can appear in JSON or flag values.
func (c *Code) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalText implements encoding.TextMarshaler with the spec name.
func (c Code) MarshalText() ([]byte, error) { return []byte(c.SpecName()), nil }
