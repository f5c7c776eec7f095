package rpc

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// WithPeer reports the connection of a gRPC-Web or Connect call made on
// the client's own connections (HTTP/2 or WithHTTP1), TLS state included.
func TestWebCallsFillWithPeer(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPCWeb, ProtocolConnect} {
		for _, c := range webCarriers[:2] { // an HTTPClient's connections are its own
			t.Run(p.String()+"/"+c.name, func(t *testing.T) {
				checkNoLeaks(t)
				srvTLS, pool := selfSigned(t)
				srv := NewServer(Creds(srvTLS))
				srv.RegisterService(&echoDesc, &echoImpl{})
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				go func() { _ = srv.Serve(l) }()
				t.Cleanup(srv.Stop)
				opts := append([]DialOption{WithTLS(&tls.Config{RootCAs: pool}), WithProtocol(p)}, c.opts(t)...)
				cc, err := NewClient(l.Addr().String(), opts...)
				require.NoError(t, err)
				t.Cleanup(func() { _ = cc.Close() })

				var peer Peer
				_, err = echoOn(ctxTimeout(t, 5*time.Second), cc, "/test.Echo/Echo", "x", WithPeer(&peer))
				require.NoError(t, err)
				require.NotNil(t, peer.Addr)
				require.Equal(t, l.Addr().String(), peer.Addr.String())
				require.NotNil(t, peer.LocalAddr)
				require.NotNil(t, peer.TLS)
				require.True(t, peer.TLS.HandshakeComplete)
			})
		}
	}
}
