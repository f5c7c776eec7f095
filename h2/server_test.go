package h2

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool, []byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "h2 test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return cert, pool, certPEM, keyPEM
}

func TestTLSWithALPN(t *testing.T) {
	goroutineLeakCheck(t)
	cert, pool, _, _ := selfSigned(t)
	serverSess := make(chan *Session, 1)
	schemes := make(chan string, 4)
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		schemes <- st.Scheme()
		okHandler(st)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		OnSession: func(s *Session) { serverSess <- s }}
	addr := newTestServer(t, srv)
	c := dialTest(t, addr, &ClientOptions{TLSConfig: &tls.Config{RootCAs: pool}})
	require.True(t, c.Encrypted())
	require.Equal(t, "h2", c.Protocol())
	status, body, err := roundTrip(ctxT(t), c, "/tls", []byte("secret"))
	require.NoError(t, err)
	require.Equal(t, "200", status)
	require.Equal(t, "secret", string(body))
	ss := <-serverSess
	require.True(t, ss.Encrypted())
	require.Equal(t, "h2", ss.Protocol())
	require.Equal(t, "https", <-schemes, "requests over TLS default to https")
}

func TestTLSWithoutH2Refused(t *testing.T) {
	goroutineLeakCheck(t)
	cert, pool, _, _ := selfSigned(t)
	logs := &logRecorder{}
	srv := &Server{Handler: okHandler, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
		ErrorLog: logs.logf}
	addr := newTestServer(t, srv)
	// A client that offers only HTTP/1.1 is refused by the server.
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitLong))
	_, err = conn.Read(make([]byte, 1))
	require.Error(t, err, "the server closes a connection that did not negotiate h2")
	require.Empty(t, logs.get(), "a client of another protocol is not the server's failure: closed, not logged")
}

func TestListenAndServeTLS(t *testing.T) {
	goroutineLeakCheck(t)
	_, pool, certPEM, keyPEM := selfSigned(t)
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cf, certPEM, 0o600))
	require.NoError(t, os.WriteFile(kf, keyPEM, 0o600))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	srv := &Server{Handler: okHandler}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServeTLS(addr, cf, kf) }()
	var c *Session
	eventually(t, "the TLS server listens", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err = Dial(ctx, addr, &ClientOptions{TLSConfig: &tls.Config{RootCAs: pool}})
		return err == nil
	})
	status, _, err := roundTrip(ctxT(t), c, "/", nil)
	require.NoError(t, err)
	require.Equal(t, "200", status)
	c.Abort(ErrCodeNo, nil)
	require.NoError(t, srv.Shutdown(ctxT(t)))
	require.ErrorIs(t, <-served, ErrServerClosed)
	require.Error(t, srv.ListenAndServeTLS(addr, filepath.Join(dir, "missing"), kf))
}

func TestDefaultHandlerIs404(t *testing.T) {
	goroutineLeakCheck(t)
	c := memPair(t, &Server{}, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	h, err := st.Response(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "404", h.Get(":status"))
}

// TestShutdownDeadlineAborts: Shutdown gives up when its context ends,
// aborting sessions whose streams never finish.
func TestShutdownDeadlineAborts(t *testing.T) {
	goroutineLeakCheck(t)
	started := make(chan struct{})
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		close(started)
		<-st.Context().Done()
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, srv.Shutdown(ctx), context.DeadlineExceeded)
	_, err = st.Response(ctxT(t))
	require.Error(t, err, "the stream fails when its session is aborted")
	select {
	case <-c.Done():
	case <-time.After(waitLong):
		t.Fatal("client session survived the server's abort")
	}
	// A shut-down server serves no more, and closes the listener it is given
	// so that clients are refused rather than left in its backlog.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.ErrorIs(t, srv.Serve(l), ErrServerClosed, "a shut-down server serves no more")
	_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(time.Second)) // fail, not hang, if left open
	_, err = l.Accept()
	require.ErrorIs(t, err, net.ErrClosed, "Serve closed the listener")
}

// TestServerCloseAbortsStreams: Close ends every session at once.
func TestServerCloseAbortsStreams(t *testing.T) {
	goroutineLeakCheck(t)
	started := make(chan struct{})
	srv := &Server{Handler: HandlerFunc(func(st *Stream) {
		close(started)
		<-st.Context().Done()
	})}
	c := dialTest(t, newTestServer(t, srv), nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	<-started
	require.NoError(t, srv.Close())
	_, err = io.ReadAll(st)
	require.Error(t, err)
	<-c.Done()
}

// TestClientAbortFailsStreams: Abort fails every stream with the given error,
// and streams whose HEADERS never left are unprocessed.
func TestClientAbortFailsStreams(t *testing.T) {
	goroutineLeakCheck(t)
	started := make(chan struct{})
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		close(started)
		<-st.Context().Done()
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	<-started
	cause := errors.New("going away now")
	c.Abort(ErrCodeCancel, cause)
	_, err = st.Read(make([]byte, 1))
	require.ErrorIs(t, err, cause)
	require.ErrorIs(t, c.Err(), cause)
	_, err = c.Request(ctxT(t), post("/"), nil)
	require.ErrorIs(t, err, ErrUnprocessed)
	require.ErrorIs(t, c.UpdateSettings(ctxT(t), Settings{MaxConcurrentStreams: 3}), ErrSessionClosed)
}

func TestDialErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = Dial(ctxT(t), addr, nil)
	require.Error(t, err, "nothing listens")
	_, err = NewClientSession(nil, &ClientOptions{Options: Options{Settings: Settings{MaxFrameSize: 1}}})
	require.Error(t, err, "invalid settings are refused before anything starts")
}
