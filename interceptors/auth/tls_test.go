package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/interceptors/auth"
	"github.com/h2rpc/h2rpc/interceptors/internal/testsrv"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// ca issues certificates for the TLS tests.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *ca {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &ca{cert: cert, key: key, pool: pool}
}

func (c *ca) issue(t *testing.T, cn string, usage x509.ExtKeyUsage, serial int64) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestVerifiedClientCertificateOverTLS runs real mutual TLS: the identity
// comes from the certificate the TLS stack verified, through
// rpc.PeerFromContext.
func TestVerifiedClientCertificateOverTLS(t *testing.T) {
	authority := newCA(t)
	serverCert := authority.issue(t, "server", x509.ExtKeyUsageServerAuth, 2)
	clientCert := authority.issue(t, "svc-billing", x509.ExtKeyUsageClientAuth, 3)
	cfg := auth.Config{
		ClientCert: auth.CommonName,
		Bearer:     tokens,
		Authorize: func(_ context.Context, id *auth.Identity, _ string) error {
			if id.Method == "tls" && id.Certificate == nil {
				return status.Error(codes.Internal, "certificate missing from identity")
			}
			return nil
		},
	}
	sopts := []rpc.ServerOption{
		rpc.Creds(&tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: authority.pool, ClientAuth: tls.VerifyClientCertIfGiven}),
		rpc.UnaryInterceptor(auth.UnaryServerInterceptor(cfg)),
	}

	withCert := testsrv.Start(t, &whoami{}, sopts, rpc.WithTLS(&tls.Config{
		ServerName: "localhost", RootCAs: authority.pool, Certificates: []tls.Certificate{clientCert}}))
	who, err := call(withCert)
	require.NoError(t, err)
	require.Equal(t, "tls:svc-billing", who)

	noCert := testsrv.Start(t, &whoami{}, sopts, rpc.WithTLS(&tls.Config{ServerName: "localhost", RootCAs: authority.pool}))
	_, err = call(noCert)
	require.Equal(t, codes.Unauthenticated, status.Code(err), "TLS alone is no identity")
	who, err = call(noCert, "authorization", "Bearer alice-token")
	require.NoError(t, err)
	require.Equal(t, "bearer:alice", who)
}

func TestClientCertOverCleartextIsIgnored(t *testing.T) {
	c := start(t, auth.Config{ClientCert: auth.CommonName})
	_, err := call(c)
	require.Equal(t, codes.Unauthenticated, status.Code(err))
}
