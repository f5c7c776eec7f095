package auth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"testing"

	"github.com/h2rpc/h2rpc/interceptors/auth"
	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	testpb "github.com/h2rpc/h2rpc/proto/grpc/testing"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// whoami answers with the caller's identity as "method:subject".
type whoami struct{ testsrv.Service }

func describe(ctx context.Context) []byte {
	id, ok := auth.IdentityFromContext(ctx)
	if !ok {
		return []byte("anonymous")
	}
	return []byte(id.Method + ":" + id.Subject)
}

func (w *whoami) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: describe(ctx)}}, nil
}

func (w *whoami) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (w *whoami) FullDuplexCall(st rpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if _, err := st.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return st.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: describe(st.Context())}})
}

var errBad = errors.New("token abc123 expired at 12:00") // must not reach the client

func tokens(_ context.Context, tok string) (*auth.Identity, error) {
	switch tok {
	case "alice-token":
		return &auth.Identity{Subject: "alice"}, nil
	case "bob-token":
		return &auth.Identity{Subject: "bob"}, nil
	case "banned":
		return nil, status.Error(codes.PermissionDenied, "account suspended")
	case "nil-identity":
		return nil, nil
	}
	return nil, errBad
}

func onlyAlice(_ context.Context, id *auth.Identity, method string) error {
	if id.Subject == "bob" && method == testpb.TestService_UnaryCall_FullMethodName {
		return errors.New("bob may not")
	}
	return nil
}

func start(t *testing.T, cfg auth.Config) testpb.TestServiceClient {
	return testsrv.Start(t, &whoami{}, []rpc.ServerOption{
		rpc.UnaryInterceptor(auth.UnaryServerInterceptor(cfg)),
		rpc.StreamInterceptor(auth.StreamServerInterceptor(cfg)),
	})
}

func call(c testpb.TestServiceClient, kv ...string) (string, error) {
	ctx := metadata.AppendToOutgoingContext(context.Background(), kv...)
	r, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	return string(r.GetPayload().GetBody()), err
}

func TestBearer(t *testing.T) {
	c := start(t, auth.Config{Bearer: tokens, Authorize: onlyAlice})
	who, err := call(c, "authorization", "Bearer alice-token")
	require.NoError(t, err)
	require.Equal(t, "bearer:alice", who)

	who, err = call(c, "authorization", "bearer   alice-token")
	require.NoError(t, err, "the scheme is case-insensitive")
	require.Equal(t, "bearer:alice", who)

	for _, tc := range []struct {
		name string
		kv   []string
		code codes.Code
		msg  string
	}{
		{"missing", nil, codes.Unauthenticated, "missing credentials"},
		{"wrong scheme", []string{"authorization", "Basic YWxpY2U6cHc="}, codes.Unauthenticated, `authorization header is not "Bearer <token>"`},
		{"no token", []string{"authorization", "Bearer"}, codes.Unauthenticated, `authorization header is not "Bearer <token>"`},
		{"invalid token hides the reason", []string{"authorization", "Bearer nope"}, codes.Unauthenticated, "invalid bearer token"},
		{"validator returned nil identity", []string{"authorization", "Bearer nil-identity"}, codes.Unauthenticated, "invalid bearer token"},
		{"validator status kept", []string{"authorization", "Bearer banned"}, codes.PermissionDenied, "account suspended"},
		{"authorizer denies", []string{"authorization", "Bearer bob-token"}, codes.PermissionDenied, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(c, tc.kv...)
			require.Equal(t, tc.code, status.Code(err))
			require.Equal(t, tc.msg, status.Convert(err).Message())
		})
	}
	// bob is allowed elsewhere.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer bob-token")
	_, err = c.EmptyCall(ctx, &testpb.Empty{})
	require.NoError(t, err)
}

func TestAPIKeyAndPublicMethods(t *testing.T) {
	c := start(t, auth.Config{
		APIKey:       tokens,
		APIKeyHeader: "X-Service-Key",
		Public:       []string{testpb.TestService_EmptyCall_FullMethodName},
	})
	who, err := call(c, "x-service-key", "bob-token")
	require.NoError(t, err)
	require.Equal(t, "api-key:bob", who)

	_, err = call(c, "x-service-key", "wrong")
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Equal(t, "invalid API key", status.Convert(err).Message())

	_, err = call(c, "authorization", "Bearer alice-token")
	require.Equal(t, codes.Unauthenticated, status.Code(err), "bearer is not configured")

	_, err = c.EmptyCall(context.Background(), &testpb.Empty{})
	require.NoError(t, err, "public methods need no credentials")
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-service-key", "wrong")
	_, err = c.EmptyCall(ctx, &testpb.Empty{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "bad credentials fail even on public methods")
}

func TestClientCertificate(t *testing.T) {
	verified := &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: "svc-a"}}}}}
	unverified := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: "svc-a"}}}}
	noCN := &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{Organization: []string{"x"}}}}}}
	states := map[string]*tls.ConnectionState{"verified": verified, "unverified": unverified, "nocn": noCN}
	cfg := auth.Config{
		Bearer: tokens,
		// The test stands in for the runtime's connection state, chosen by a header.
		TLSState: func(ctx context.Context) *tls.ConnectionState {
			v := metadata.ValueFromIncomingContext(ctx, "test-tls")
			if len(v) == 0 {
				return nil
			}
			return states[v[0]]
		},
	}
	c := start(t, cfg)
	who, err := call(c, "test-tls", "verified")
	require.NoError(t, err)
	require.Equal(t, "tls:svc-a", who)

	_, err = call(c, "test-tls", "unverified")
	require.Equal(t, codes.Unauthenticated, status.Code(err), "an unverified certificate proves nothing")
	_, err = call(c, "test-tls", "nocn")
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Equal(t, "client certificate rejected", status.Convert(err).Message())
	who, err = call(c, "test-tls", "unverified", "authorization", "Bearer alice-token")
	require.NoError(t, err)
	require.Equal(t, "bearer:alice", who)

	cfg.ClientCert = func(context.Context, *x509.Certificate) (*auth.Identity, error) { return nil, nil }
	c = start(t, cfg)
	_, err = call(c, "test-tls", "verified")
	require.Equal(t, codes.Unauthenticated, status.Code(err), "a validator returning no identity rejects")

	cfg.ClientCert = func(_ context.Context, cert *x509.Certificate) (*auth.Identity, error) {
		return &auth.Identity{Subject: "cert-" + cert.Subject.CommonName, Attributes: map[string]string{"role": "svc"}}, nil
	}
	c = start(t, cfg)
	who, err = call(c, "test-tls", "verified")
	require.NoError(t, err)
	require.Equal(t, "tls:cert-svc-a", who)
}

func TestStreamIdentityAndDenial(t *testing.T) {
	c := start(t, auth.Config{Bearer: tokens, Authorize: func(_ context.Context, id *auth.Identity, _ string) error {
		if id.Subject != "alice" {
			return status.Error(codes.PermissionDenied, "alice only")
		}
		return nil
	}})
	open := func(kv ...string) (string, error) {
		st, err := c.FullDuplexCall(metadata.AppendToOutgoingContext(context.Background(), kv...))
		if err != nil {
			return "", err
		}
		if err := st.CloseSend(); err != nil {
			return "", err
		}
		r, err := st.Recv()
		return string(r.GetPayload().GetBody()), err
	}
	who, err := open("authorization", "Bearer alice-token")
	require.NoError(t, err)
	require.Equal(t, "bearer:alice", who)
	_, err = open("authorization", "Bearer bob-token")
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.Equal(t, "alice only", status.Convert(err).Message())
	_, err = open()
	require.Equal(t, codes.Unauthenticated, status.Code(err))
}

func TestClientInterceptors(t *testing.T) {
	cfg := auth.Config{Bearer: tokens, APIKey: tokens}
	sopts := []rpc.ServerOption{
		rpc.UnaryInterceptor(auth.UnaryServerInterceptor(cfg)),
		rpc.StreamInterceptor(auth.StreamServerInterceptor(cfg)),
	}
	c := testsrv.Start(t, &whoami{}, sopts,
		rpc.WithUnaryInterceptor(auth.BearerUnaryClientInterceptor(auth.StaticToken("alice-token"))),
		rpc.WithStreamInterceptor(auth.APIKeyStreamClientInterceptor("x-api-key", auth.StaticToken("bob-token"))))
	who, err := call(c)
	require.NoError(t, err)
	require.Equal(t, "bearer:alice", who)
	st, err := c.FullDuplexCall(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.CloseSend())
	r, err := st.Recv()
	require.NoError(t, err)
	require.Equal(t, "api-key:bob", string(r.GetPayload().GetBody()))

	c = testsrv.Start(t, &whoami{}, sopts,
		rpc.WithUnaryInterceptor(auth.APIKeyUnaryClientInterceptor("x-api-key", auth.StaticToken("bob-token"))))
	who, err = call(c)
	require.NoError(t, err)
	require.Equal(t, "api-key:bob", who, "the unary API-key interceptor")

	failing := func(context.Context) (string, error) { return "", errors.New("token endpoint down") }
	c = testsrv.Start(t, &whoami{}, sopts,
		rpc.WithUnaryInterceptor(auth.BearerUnaryClientInterceptor(failing)),
		rpc.WithStreamInterceptor(auth.BearerStreamClientInterceptor(failing)))
	_, err = call(c)
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "token endpoint down")
	_, err = c.FullDuplexCall(context.Background())
	require.Equal(t, codes.Unauthenticated, status.Code(err))
}

func TestIdentityContext(t *testing.T) {
	_, ok := auth.IdentityFromContext(context.Background())
	require.False(t, ok)
	ctx := auth.NewContext(context.Background(), &auth.Identity{Subject: "x"})
	id, ok := auth.IdentityFromContext(ctx)
	require.True(t, ok)
	require.Equal(t, "x", id.Subject)
	_, ok = auth.IdentityFromContext(auth.NewContext(context.Background(), nil))
	require.False(t, ok)
}

func TestEmptyConfigFailsClosed(t *testing.T) {
	c := start(t, auth.Config{Public: []string{testpb.TestService_EmptyCall_FullMethodName}})
	_, err := call(c, "authorization", "Bearer alice-token")
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	_, err = c.EmptyCall(context.Background(), &testpb.Empty{})
	require.NoError(t, err)
}
