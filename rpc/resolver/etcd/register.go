package etcd

import (
	"context"
	"fmt"
	"time"

	"github.com/h2rpc/h2rpc/proto/etcd/etcdserverpb"
	"github.com/h2rpc/h2rpc/rpc"
)

// Registration is a server's entry in the registry.
type Registration struct {
	lease  etcdserverpb.LeaseClient
	id     int64
	cancel context.CancelFunc
	done   chan struct{}
}

// Register puts addr under the service's key (ServiceKey(prefix, service)+addr)
// with a lease of ttl (whole seconds, at least one) that it keeps alive
// until Deregister: if the process dies, etcd drops the address once the
// lease expires, and watching clients stop using it.
func Register(ctx context.Context, etcd *rpc.ClientConn, prefix, service, addr string, ttl time.Duration) (*Registration, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	secs := max(int64(ttl/time.Second), 1)
	lease := etcdserverpb.NewLeaseClient(etcd)
	g, err := lease.LeaseGrant(ctx, &etcdserverpb.LeaseGrantRequest{TTL: secs}, rpc.WaitForReady(true))
	if err != nil {
		return nil, fmt.Errorf("etcd: granting a lease: %w", err)
	}
	if g.Error != "" {
		return nil, fmt.Errorf("etcd: granting a lease: %s", g.Error)
	}
	if _, err := etcdserverpb.NewKVClient(etcd).Put(ctx, &etcdserverpb.PutRequest{
		Key: []byte(ServiceKey(prefix, service) + addr), Value: []byte(addr), Lease: g.ID}); err != nil {
		return nil, fmt.Errorf("etcd: registering %s: %w", addr, err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	reg := &Registration{lease: lease, id: g.ID, cancel: cancel, done: make(chan struct{})}
	go reg.keepAlive(kctx, time.Duration(secs)*time.Second/3)
	return reg, nil
}

// keepAlive renews the lease every interval until canceled, reopening the
// stream when it fails.
func (r *Registration) keepAlive(ctx context.Context, interval time.Duration) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for ctx.Err() == nil {
		s, err := r.lease.LeaseKeepAlive(ctx)
		for err == nil {
			if err = s.Send(&etcdserverpb.LeaseKeepAliveRequest{ID: r.id}); err != nil {
				break
			}
			if _, err = s.Recv(); err != nil {
				break
			}
			select {
			case <-ctx.Done():
				_ = s.CloseSend()
				return
			case <-t.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deregister stops keeping the lease alive and revokes it: the address
// leaves the registry at once.
func (r *Registration) Deregister(ctx context.Context) error {
	r.cancel()
	<-r.done
	if _, err := r.lease.LeaseRevoke(ctx, &etcdserverpb.LeaseRevokeRequest{ID: r.id}); err != nil {
		return fmt.Errorf("etcd: revoking the lease: %w", err)
	}
	return nil
}
