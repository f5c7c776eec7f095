package rpc

import (
	"context"
	"crypto/tls"

	"net"

	"github.com/h2rpc/h2rpc/h2"
)

// Peer describes the other end of a call's connection.
type Peer struct {
	Addr      net.Addr             // the other end: the client on a server, the server on a client
	LocalAddr net.Addr             // this end
	TLS       *tls.ConnectionState // nil for h2c; a server's includes verified client certificates
}

// PeerFromContext returns the client of the server call ctx belongs to, for
// logging and authorization. It is built on the first request of each
// connection and shared by its calls after that (treat it as read-only), so
// calls that never ask pay nothing and those that do pay once.
func PeerFromContext(ctx context.Context) (*Peer, bool) {
	ss := serverStreamFromContext(ctx)
	if ss == nil {
		return nil, false
	}
	if r := ss.httpRequest(); r != nil {
		return httpPeer(r), true
	}
	if ss.conn == nil {
		return peerOf(ss.h2Stream().Session()), true
	}
	if p := ss.conn.peer.Load(); p != nil {
		return p, true
	}
	p := peerOf(ss.h2Stream().Session())
	ss.conn.peer.CompareAndSwap(nil, p)
	return ss.conn.peer.Load(), true
}

func peerOf(sess *h2.Session) *Peer {
	p := &Peer{Addr: sess.RemoteAddr(), LocalAddr: sess.LocalAddr()}
	if tc, ok := sess.Conn().(*tls.Conn); ok {
		cs := tc.ConnectionState()
		p.TLS = &cs
	}
	return p
}

type peerOpt struct{ p *Peer }

func (o peerOpt) apply(c *callInfo) { c.peer = o.p }

// WithPeer stores the server's side of the call's connection into *p once
// the call has a connection (after NewStream, or when a unary call returns),
// like grpc-go's grpc.Peer option. *p stays unchanged when no connection was
// reached.
func WithPeer(p *Peer) CallOption { return peerOpt{p} }
