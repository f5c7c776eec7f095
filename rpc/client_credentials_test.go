package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// seenAuth records the authorization header of each call the server gets.
type seenAuth struct{ got chan []string }

func (s *seenAuth) unary(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.got <- md["authorization"]
	return h(ctx, req)
}

func newSeenAuth() *seenAuth { return &seenAuth{got: make(chan []string, 16)} }

// apiKey does not require transport security and records its audience.
type apiKey struct{ uri chan string }

func (k apiKey) GetRequestMetadata(_ context.Context, uri ...string) (map[string]string, error) {
	k.uri <- uri[0]
	return map[string]string{"X-API-Key": "k1"}, nil
}
func (apiKey) RequireTransportSecurity() bool { return false }

type failingCreds struct{ err error }

func (f failingCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return nil, f.err
}
func (failingCreds) RequireTransportSecurity() bool { return false }

func TestBearerTokenTravelsOverTLSOnly(t *testing.T) {
	checkNoLeaks(t)
	srvTLS, pool := selfSigned(t)
	seen := newSeenAuth()
	e := newEnv(t, true, []ServerOption{Creds(srvTLS), ChainUnaryInterceptor(seen.unary)},
		WithTLS(&tls.Config{RootCAs: pool}), WithPerRPCCredentials(BearerToken("t0k")))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer t0k"}, <-seen.got)

	// Dial-wide on h2c: refused at NewClient.
	_, err = NewClient(e.addr, WithInsecure(), WithPerRPCCredentials(BearerToken("t0k")))
	require.Error(t, err)

	// A call's own on h2c: the call fails before anything is sent.
	plainSeen := newSeenAuth()
	plain := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(plainSeen.unary)})
	_, err = plain.echo(ctxTimeout(t, 5*time.Second), "x", CallCredentials(BearerToken("t0k")))
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Empty(t, plainSeen.got, "the server saw the call")

	// Unless explicitly allowed.
	allowed, err := NewClient(plain.addr, WithInsecure(), WithInsecurePerRPCCredentials(), WithPerRPCCredentials(BearerToken("t0k")))
	require.NoError(t, err)
	defer allowed.Close()
	_, err = (&env{cc: allowed}).echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer t0k"}, <-plainSeen.got)
}

func TestCredentialsWithoutTLSRequirementAndErrors(t *testing.T) {
	checkNoLeaks(t)
	key := apiKey{uri: make(chan string, 1)}
	e := newEnv(t, true, []ServerOption{ChainUnaryInterceptor(func(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md["x-api-key"]; len(got) != 1 || got[0] != "k1" {
			return nil, status.Error(codes.Unauthenticated, "no key")
		}
		return h(ctx, req)
	})}, WithPerRPCCredentials(key), WithAuthority("api.example.com:443"))
	_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
	require.NoError(t, err)
	require.Equal(t, "https://api.example.com/test.Echo", <-key.uri)

	_, err = e.echo(ctxTimeout(t, 5*time.Second), "x", CallCredentials(failingCreds{errors.New("token service down")}))
	require.Equal(t, codes.Unavailable, status.Code(err))
	<-key.uri
	_, err = e.echo(ctxTimeout(t, 5*time.Second), "x", CallCredentials(failingCreds{status.Error(codes.PermissionDenied, "revoked")}))
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}
