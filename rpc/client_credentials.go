package rpc

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// PerRPCCredentials attach credentials (a bearer token, an API key) to
// every call, as grpc-go's credentials.PerRPCCredentials do. Credentials
// that RequireTransportSecurity are never sent in cleartext: a client
// made with WithInsecure refuses them (NewClient fails for dial-wide ones,
// the call fails with UNAUTHENTICATED for a call's own, before anything is
// sent), unless WithInsecurePerRPCCredentials says that something else
// protects the connection (a service mesh's sidecar, a loopback link).
type PerRPCCredentials interface {
	// GetRequestMetadata returns the headers to add to a call. uri is the
	// audience, "https://authority/package.Service"; a status error fails
	// the call with its code, any other with UNAVAILABLE.
	GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error)
	// RequireTransportSecurity reports whether the credentials may only
	// travel over TLS.
	RequireTransportSecurity() bool
}

// WithPerRPCCredentials attaches c to every call of the client.
func WithPerRPCCredentials(c PerRPCCredentials) DialOption {
	return func(o *clientConfig) { o.perRPC = append(o.perRPC, c) }
}

// WithInsecurePerRPCCredentials lets credentials that require transport
// security travel over a WithInsecure connection.
func WithInsecurePerRPCCredentials() DialOption {
	return func(o *clientConfig) { o.insecureCreds = true }
}

type perRPCOpt struct{ c PerRPCCredentials }

func (o perRPCOpt) apply(ci *callInfo) { ci.creds = o.c }

// CallCredentials attaches c to one call, after the client's own
// (grpc-go's grpc.PerRPCCredentials call option).
func CallCredentials(c PerRPCCredentials) CallOption { return perRPCOpt{c} }

// BearerToken is PerRPCCredentials that send "authorization: Bearer
// token"; they require transport security.
func BearerToken(token string) PerRPCCredentials { return bearerToken(token) }

type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return true }

// errInsecureCreds refuses credentials that would travel in cleartext.
var errInsecureCreds = errors.New("rpc: per-call credentials that require transport security on a WithInsecure client (use WithTLS, or WithInsecurePerRPCCredentials when something else protects the connection)")

// checkCredentials refuses, at NewClient, dial-wide credentials that
// would travel in cleartext.
func (c *clientConfig) checkCredentials() error {
	if c.tlsConfig != nil || c.insecureCreds {
		return nil
	}
	for _, cr := range c.perRPC {
		if cr.RequireTransportSecurity() {
			return errInsecureCreds
		}
	}
	return nil
}

// addCredentials appends the headers of the client's and the call's
// credentials to hdr.
func (cc *ClientConn) addCredentials(ctx context.Context, method string, hdr h2.Header, ci *callInfo) (h2.Header, error) {
	if len(cc.cfg.perRPC) == 0 && ci.creds == nil {
		return hdr, nil
	}
	host, _, err := net.SplitHostPort(cc.authority)
	if err != nil {
		host = cc.authority
	}
	service := method
	if i := strings.LastIndexByte(method, '/'); i > 0 {
		service = method[:i]
	}
	uri := "https://" + host + service
	add := func(c PerRPCCredentials) error {
		if c.RequireTransportSecurity() && cc.cfg.tlsConfig == nil && !cc.cfg.insecureCreds {
			return status.Error(codes.Unauthenticated, errInsecureCreds.Error())
		}
		md, err := c.GetRequestMetadata(ctx, uri)
		if err != nil {
			if _, ok := status.FromError(err); ok {
				return err
			}
			return status.Errorf(codes.Unavailable, "rpc: getting per-call credentials: %v", err)
		}
		for k, v := range md {
			k = strings.ToLower(k)
			if err := metadata.ValidateKey(k); err != nil || reservedHeader(k) {
				return status.Errorf(codes.Internal, "rpc: per-call credentials set header %q, which cannot be sent", k)
			}
			if err := metadata.ValidateValue(k, v); err != nil {
				return status.Errorf(codes.Internal, "rpc: per-call credentials: %v", err)
			}
			hdr = append(hdr, h2.HeaderField{Name: k, Value: v})
		}
		return nil
	}
	for _, c := range cc.cfg.perRPC {
		if err := add(c); err != nil {
			return nil, err
		}
	}
	if ci.creds != nil {
		if err := add(ci.creds); err != nil {
			return nil, err
		}
	}
	return hdr, nil
}
