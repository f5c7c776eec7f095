package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/test/interop/testservice"
	"github.com/stretchr/testify/require"
)

// listen serves the TestService on a loopback port, with TLS when cfg is set.
func listen(t *testing.T, cfg *tls.Config) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var opts []rpc.ServerOption
	if cfg != nil {
		opts = append(opts, rpc.Creds(cfg))
	}
	srv := rpc.NewServer(opts...)
	testservice.Register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned returns a server certificate for name and the CA file that trusts it.
func selfSigned(t *testing.T, name string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

func TestRunAllCasesCleartext(t *testing.T) {
	port := listen(t, nil)
	require.Equal(t, 0, run(config{host: "127.0.0.1", port: port, testCase: "all", caseTimeout: 10 * time.Second}))
}

func TestRunOverTLSWithHostOverride(t *testing.T) {
	cert, ca := selfSigned(t, "foo.test.example")
	port := listen(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	c := config{host: "127.0.0.1", port: port, testCase: "large_unary,ping_pong", caseTimeout: 10 * time.Second,
		useTLS: true, useTestCA: true, caFile: ca, hostOverride: "foo.test.example"}
	require.Equal(t, 0, run(c))

	// Without the override the certificate does not match 127.0.0.1.
	c.hostOverride = ""
	c.caseTimeout = 2 * time.Second
	require.Equal(t, 1, run(c))
}

func TestRunFailsWhenServerIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	require.Equal(t, 1, run(config{host: "127.0.0.1", port: port, testCase: "empty_unary", caseTimeout: 2 * time.Second}))
}

func TestBadFlags(t *testing.T) {
	require.Equal(t, 2, run(config{host: "h", port: 1, testCase: "nope"}))
	require.Equal(t, 2, run(config{host: "h", port: 0, testCase: "all"}))
	require.Equal(t, 2, run(config{host: "h", port: 1, testCase: "all", useTestCA: true}))
	require.Equal(t, 2, run(config{host: "h", port: 1, testCase: "all", useTLS: true, useTestCA: true}))

	_, err := tlsConfig(config{useTestCA: true, caFile: filepath.Join(t.TempDir(), "missing.pem")})
	require.ErrorContains(t, err, "reading CA file")
	empty := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("not pem"), 0o600))
	_, err = tlsConfig(config{useTestCA: true, caFile: empty})
	require.ErrorContains(t, err, "holds no PEM certificate")
}
