package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// Identity is an authenticated caller.
type Identity struct {
	// Subject names the caller: a user or service id from the token, the
	// API key's owner, the certificate's common name.
	Subject string
	// Method is how the caller proved it: "bearer", "api-key" or "tls".
	Method string
	// Attributes hold whatever else the validator learned (scopes, roles).
	Attributes map[string]string
	// Certificate is the verified leaf certificate for Method "tls".
	Certificate *x509.Certificate
}

// CommonName is a CertValidator that names the caller by the certificate
// subject's common name.
func CommonName(_ context.Context, c *x509.Certificate) (*Identity, error) {
	if c.Subject.CommonName == "" {
		return nil, errors.New("client certificate has no common name")
	}
	return &Identity{Subject: c.Subject.CommonName}, nil
}

type identityKey struct{}

// NewContext returns ctx carrying id; the interceptors use it, and tests of
// handlers can too.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFromContext returns the caller's identity set by the interceptors.
func IdentityFromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(*Identity)
	return id, ok && id != nil
}

// TokenValidator checks a bearer token or an API key. An error that is a
// status (PERMISSION_DENIED, UNAVAILABLE, ...) is returned as is; any other
// error means UNAUTHENTICATED.
type TokenValidator func(ctx context.Context, token string) (*Identity, error)

// CertValidator maps a verified client certificate to an identity; it may
// refuse it. The default takes the subject's common name.
type CertValidator func(ctx context.Context, cert *x509.Certificate) (*Identity, error)

// Authorizer decides whether id may call fullMethod; an error that is not a
// status means PERMISSION_DENIED.
type Authorizer func(ctx context.Context, id *Identity, fullMethod string) error

// Config says which credentials are accepted. They are tried in order:
// client certificate, bearer token, API key; the first one present decides
// (a bad token is not rescued by a good API key). A Config that accepts
// nothing fails every call but the public ones: the interceptor fails closed.
type Config struct {
	Bearer TokenValidator // "authorization: Bearer <token>"
	APIKey TokenValidator // the APIKeyHeader header
	// APIKeyHeader defaults to "x-api-key".
	APIKeyHeader string
	// ClientCert, when set, accepts client certificates that the TLS stack
	// verified (serve with rpc.Creds and a tls.Config whose ClientAuth is
	// VerifyClientCertIfGiven or RequireAndVerifyClientCert, and ClientCAs).
	ClientCert CertValidator
	// TLSState replaces where the connection's TLS state comes from
	// (default: rpc.PeerFromContext). Setting it also turns certificate
	// authentication on, with the subject's common name as identity when
	// ClientCert is nil. Only chains the TLS stack verified count.
	TLSState func(ctx context.Context) *tls.ConnectionState
	// Authorize, when set, runs after authentication.
	Authorize Authorizer
	// Public lists full method names that need no credentials (health
	// checks, reflection); an identity is still attached when one is given.
	Public []string
}

type authn struct {
	cfg    Config
	public map[string]bool
}

func newAuthn(cfg Config) *authn {
	if cfg.APIKeyHeader == "" {
		cfg.APIKeyHeader = "x-api-key"
	}
	cfg.APIKeyHeader = strings.ToLower(cfg.APIKeyHeader)
	if cfg.TLSState != nil && cfg.ClientCert == nil {
		cfg.ClientCert = CommonName
	}
	if cfg.ClientCert != nil && cfg.TLSState == nil {
		cfg.TLSState = func(ctx context.Context) *tls.ConnectionState {
			if p, ok := rpc.PeerFromContext(ctx); ok {
				return p.TLS
			}
			return nil
		}
	}
	a := &authn{cfg: cfg, public: map[string]bool{}}
	for _, m := range cfg.Public {
		a.public[m] = true
	}
	return a
}

var errNoCredentials = status.Error(codes.Unauthenticated, "missing credentials")

// authenticate returns the identity, nil with no error when no
// credentials came at all.
func (a *authn) authenticate(ctx context.Context) (*Identity, error) {
	if a.cfg.TLSState != nil {
		if st := a.cfg.TLSState(ctx); st != nil && len(st.VerifiedChains) > 0 && len(st.VerifiedChains[0]) > 0 {
			leaf := st.VerifiedChains[0][0]
			id, err := a.cfg.ClientCert(ctx, leaf)
			if err != nil {
				return nil, asStatus(err, codes.Unauthenticated, "client certificate rejected")
			}
			if id == nil {
				return nil, status.Error(codes.Unauthenticated, "client certificate rejected")
			}
			id.Method, id.Certificate = "tls", leaf
			return id, nil
		}
	}
	if a.cfg.Bearer != nil {
		if vals := metadata.ValueFromIncomingContext(ctx, "authorization"); len(vals) > 0 {
			scheme, tok, ok := strings.Cut(vals[0], " ")
			if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
				return nil, status.Error(codes.Unauthenticated, "authorization header is not \"Bearer <token>\"")
			}
			return a.validate(ctx, a.cfg.Bearer, strings.TrimSpace(tok), "bearer", "invalid bearer token")
		}
	}
	if a.cfg.APIKey != nil {
		if vals := metadata.ValueFromIncomingContext(ctx, a.cfg.APIKeyHeader); len(vals) > 0 {
			return a.validate(ctx, a.cfg.APIKey, vals[0], "api-key", "invalid API key")
		}
	}
	return nil, nil
}

func (a *authn) validate(ctx context.Context, v TokenValidator, tok, method, msg string) (*Identity, error) {
	id, err := v(ctx, tok)
	if err != nil {
		return nil, asStatus(err, codes.Unauthenticated, msg)
	}
	if id == nil {
		return nil, status.Error(codes.Unauthenticated, msg)
	}
	id.Method = method
	return id, nil
}

// asStatus keeps a status error from a validator and hides any other
// error's text, which may describe the secret, behind msg.
func asStatus(err error, c codes.Code, msg string) error {
	if s, ok := status.FromError(err); ok {
		return s.Err()
	}
	return status.Error(c, msg)
}

// check authenticates and authorizes one call, returning the context the
// handler gets.
func (a *authn) check(ctx context.Context, fullMethod string) (context.Context, error) {
	id, err := a.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if id == nil {
		if a.public[fullMethod] {
			return ctx, nil
		}
		return nil, errNoCredentials
	}
	if a.cfg.Authorize != nil && !a.public[fullMethod] {
		if err := a.cfg.Authorize(ctx, id, fullMethod); err != nil {
			return nil, asStatus(err, codes.PermissionDenied, "permission denied")
		}
	}
	return NewContext(ctx, id), nil
}

// UnaryServerInterceptor authenticates unary calls.
func UnaryServerInterceptor(cfg Config) rpc.UnaryServerInterceptor {
	a := newAuthn(cfg)
	return func(ctx context.Context, req any, info *rpc.UnaryServerInfo, handler rpc.UnaryHandler) (any, error) {
		ctx, err := a.check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates streaming calls.
func StreamServerInterceptor(cfg Config) rpc.StreamServerInterceptor {
	a := newAuthn(cfg)
	return func(srv any, ss rpc.ServerStream, info *rpc.StreamServerInfo, handler rpc.StreamHandler) error {
		ctx, err := a.check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
}

// ctxStream gives the handler the context that carries the identity.
type ctxStream struct {
	rpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
