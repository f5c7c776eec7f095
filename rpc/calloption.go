package rpc

import (
	"strings"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// CallOption configures one call. The set is closed: only this package
// makes them, so the runtime can keep per-call settings in a plain struct.
type CallOption interface {
	apply(*callInfo)
}

// callInfo holds the per-call settings; it lives on the stack of a call.
type callInfo struct {
	header       *metadata.MD
	trailer      *metadata.MD
	compressor   string
	maxRecv      int
	maxSend      int
	waitForReady bool
	peer         *Peer
	subtype      string            // CallContentSubtype
	codec        Codec             // ForceCodec
	pinned       *h2.Session       // the connection the call must use (health checks, balancer_health.go)
	creds        PerRPCCredentials // CallCredentials
	idempotency  IdempotencyLevel
}

type headerOpt struct{ md *metadata.MD }

func (o headerOpt) apply(c *callInfo) { c.header = o.md }

// Header stores the server's header metadata into *md when the call ends
// (or when headers arrive, for streams).
func Header(md *metadata.MD) CallOption { return headerOpt{md} }

type trailerOpt struct{ md *metadata.MD }

func (o trailerOpt) apply(c *callInfo) { c.trailer = o.md }

// Trailer stores the server's trailer metadata into *md when the call ends.
func Trailer(md *metadata.MD) CallOption { return trailerOpt{md} }

type compressorOpt string

func (o compressorOpt) apply(c *callInfo) { c.compressor = string(o) }

// UseCompressor compresses request messages with the named registered
// compressor ("gzip"); the call fails with INTERNAL if none is registered.
func UseCompressor(name string) CallOption { return compressorOpt(name) }

type maxRecvOpt int

func (o maxRecvOpt) apply(c *callInfo) { c.maxRecv = int(o) }

// MaxCallRecvMsgSize bounds the size of each response message (default 4 MiB).
func MaxCallRecvMsgSize(n int) CallOption { return maxRecvOpt(n) }

type maxSendOpt int

func (o maxSendOpt) apply(c *callInfo) { c.maxSend = int(o) }

// MaxCallSendMsgSize bounds the size of each request message.
func MaxCallSendMsgSize(n int) CallOption { return maxSendOpt(n) }

type waitForReadyOpt bool

func (o waitForReadyOpt) apply(c *callInfo) { c.waitForReady = bool(o) }

// WaitForReady makes a call wait for a connection (until its deadline)
// instead of failing at once with UNAVAILABLE while none is up.
func WaitForReady(b bool) CallOption { return waitForReadyOpt(b) }

type subtypeOpt string

func (o subtypeOpt) apply(c *callInfo) { c.subtype = string(o) }

// CallContentSubtype sends the call as application/grpc+NAME and encodes its
// messages with the codec registered under NAME (lower-cased): "json" for
// protobuf's JSON mapping. The call fails with INTERNAL when no codec is
// registered under NAME (unless ForceCodec gives one).
func CallContentSubtype(name string) CallOption { return subtypeOpt(strings.ToLower(name)) }

type codecOpt struct{ c Codec }

func (o codecOpt) apply(c *callInfo) { c.codec = o.c }

// ForceCodec encodes the call's messages with c, registered or not, and
// sends application/grpc+c.Name() unless CallContentSubtype names another
// subtype.
func ForceCodec(c Codec) CallOption { return codecOpt{c} }

// codecEntry returns the codec the call options choose, and its content-type.
func (c *callInfo) codecEntry() (*codecEntry, error) {
	switch {
	case c.codec == nil && c.subtype == "":
		return protoEntry, nil
	case c.codec == nil:
		e := codecEntryFor(c.subtype)
		if e == nil {
			return nil, status.Errorf(codes.Internal, "rpc: no codec registered for content-subtype %q", c.subtype)
		}
		return e, nil
	}
	sub := c.subtype
	if sub == "" {
		sub = strings.ToLower(c.codec.Name())
	}
	if !validSubtype(sub) {
		return nil, status.Errorf(codes.Internal, "rpc: invalid content-subtype %q", sub)
	}
	if e := codecEntryFor(sub); e != nil && e.codec == c.codec {
		return e, nil
	}
	return &codecEntry{codec: c.codec, contentType: "application/grpc+" + sub}, nil
}
