package rpc

import "testing"

// TestUnaryResponseDoesNotWaitForALargeMessageToBeWritten's twin for the
// web protocols on our own engine: a gRPC-Web or Connect unary handler's
// large response is handed to h2 with its status, so the call ends on the
// server (its status reported, its goroutine free) before the client has
// read the response, which its 64 KiB window lets through only the first
// 64 KiB of; the response arrives whole and unchanged although its buffer
// went back to the pool. Each protocol's body is a different cut of that
// buffer: gRPC-Web's the envelope and the trailer envelope after it,
// Connect's the bare message. Compression is off: the Connect client asks
// for gzip, and the repetitive message would shrink below the size h2
// copies at once.
func TestWebUnaryResponseDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkLargeResponseDoesNotWait(t, []ServerOption{CompressMinBytes(1 << 30)}, WithProtocol(p))
		})
	}
}

// The same for a unary request: a gRPC-Web or Connect call on the client's
// own sessions hands its large request to h2 and goes on (here to report
// it sent) while the server, whose 64 KiB window lets through only the
// first 64 KiB, has not read it yet; it arrives whole. Connect's body is
// the bare message, moved down over its envelope prefix in its buffer.
func TestWebUnaryRequestDoesNotWaitForALargeMessageToBeWritten(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		t.Run(p.String(), func(t *testing.T) {
			checkLargeRequestDoesNotWait(t, []ServerOption{CompressMinBytes(1 << 30)}, WithProtocol(p))
		})
	}
}
