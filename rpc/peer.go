package rpc

import (
	"context"
	"crypto/tls"
	"net"
)

// Peer describes the other end of a call's connection.
type Peer struct {
	Addr      net.Addr             // the client's address
	LocalAddr net.Addr             // the address it connected to
	TLS       *tls.ConnectionState // nil for h2c
}

// PeerFromContext returns the client of the server call ctx belongs to, for
// logging and authorization. It is computed on demand, so calls that never
// ask pay nothing.
func PeerFromContext(ctx context.Context) (*Peer, bool) {
	ss := serverStreamFromContext(ctx)
	if ss == nil {
		return nil, false
	}
	sess := ss.st.Session()
	p := &Peer{Addr: sess.RemoteAddr(), LocalAddr: sess.LocalAddr()}
	if tc, ok := sess.Conn().(*tls.Conn); ok {
		cs := tc.ConnectionState()
		p.TLS = &cs
	}
	return p, true
}
