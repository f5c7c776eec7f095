package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// serve runs the example's server on loopback, over TLS when tlsOn.
func serve(t *testing.T, dir string, tlsOn bool) string {
	srv := newServer(dir)
	if tlsOn {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return l.Addr().String()
}

func client(t *testing.T, h1, h2c bool) *http.Client {
	var p http.Protocols
	p.SetHTTP1(h1)
	p.SetHTTP2(!h1)
	p.SetUnencryptedHTTP2(h2c)
	cfg := &tls.Config{InsecureSkipVerify: true}
	if h1 {
		cfg.NextProtos = []string{"http/1.1"}
	}
	tr := &http.Transport{Protocols: &p, TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func getJSON(t *testing.T, c *http.Client, url string) map[string]string {
	res, err := c.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]string
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out
}

func TestBothProtocolsOnOnePort(t *testing.T) {
	addr := serve(t, t.TempDir(), true)
	require.Equal(t, map[string]string{"alpnProtocol": "h2", "httpVersion": "2.0"},
		getJSON(t, client(t, false, false), "https://"+addr+"/"))
	require.Equal(t, map[string]string{"alpnProtocol": "http/1.1", "httpVersion": "1.1"},
		getJSON(t, client(t, true, false), "https://"+addr+"/"))

	addr = serve(t, t.TempDir(), false)
	require.Equal(t, map[string]string{"alpnProtocol": "", "httpVersion": "2.0"},
		getJSON(t, client(t, false, true), "http://"+addr+"/"))
	require.Equal(t, map[string]string{"alpnProtocol": "", "httpVersion": "1.1"},
		getJSON(t, client(t, true, false), "http://"+addr+"/"))
}

func TestEchoAndFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("0123456789"), 0o600))
	addr := serve(t, dir, false)
	for _, h1 := range []bool{false, true} {
		c := client(t, h1, !h1)
		res, err := c.Post("http://"+addr+"/echo", "text/plain", strings.NewReader("ping"))
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, "ping", string(b))
		require.Equal(t, "4", res.Trailer.Get("X-Echo-Bytes"))

		req, _ := http.NewRequest("GET", "http://"+addr+"/files/a.txt", nil)
		req.Header.Set("Range", "bytes=2-4")
		res, err = c.Do(req)
		require.NoError(t, err)
		b, err = io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, http.StatusPartialContent, res.StatusCode)
		require.Equal(t, "234", string(b))
	}
}

// selfSigned makes a throwaway certificate (the client skips verification).
func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
