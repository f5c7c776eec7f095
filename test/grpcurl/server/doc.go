// Command server serves grpc.testing.TestService with the health and
// reflection services on loopback, for test/grpcurl/run.sh: the interop
// server does not register health and reflection yet.
package main
