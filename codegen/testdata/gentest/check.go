// Package gentest is built by codegen's TestBothModesAgreeAndCompile inside
// a temporary module holding the generated test code (example.com/gentest);
// it is not part of the h2rpc module.
package gentest

import (
	"example.com/gentest/collide"
	"example.com/gentest/editions"
	"example.com/gentest/kinds"
	"example.com/gentest/wkt"
)

type embedded struct{ kinds.UnimplementedKindsServer }

// The compiler checks that the Unimplemented types satisfy the server
// interfaces by value and when embedded by value, and that the aliases kept
// for protoc-gen-go-grpc users exist.
var (
	_ kinds.KindsServer                  = kinds.UnimplementedKindsServer{}
	_ kinds.KindsServer                  = embedded{}
	_ kinds.NothingServer                = kinds.UnimplementedNothingServer{}
	_ kinds.LegacyServer                 = kinds.UnimplementedLegacyServer{}
	_ kinds.SecondServer                 = kinds.UnimplementedSecondServer{}
	_ collide.ServiceServer              = collide.UnimplementedServiceServer{}
	_ collide.SnakeCaseServiceServer     = collide.UnimplementedSnakeCaseServiceServer{}
	_ wkt.ClockServer                    = wkt.UnimplementedClockServer{}
	_ editions.PingerServer              = editions.UnimplementedPingerServer{}
	_ kinds.Kinds_BidiServer             = nil
	_ collide.Service_StreamThingsClient = nil
)
