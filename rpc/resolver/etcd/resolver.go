package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/proto/etcd/etcdserverpb"
	"github.com/h2rpc/h2rpc/proto/etcd/mvccpb"
	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/resolver"
)

// Scheme is the target scheme of the etcd resolver: "etcd:///SERVICE".
const Scheme = "etcd"

// DefaultPrefix is where services register unless told otherwise.
const DefaultPrefix = "/h2rpc/services/"

// Builder makes etcd resolvers; they share its connection to etcd. Give
// it to clients with rpc.WithResolvers(b), and Close it after them.
type Builder struct {
	etcd   *rpc.ClientConn
	prefix string
}

// NewBuilder returns a Builder that reads the registry under prefix
// (DefaultPrefix when empty) through etcd, a client of the etcd cluster
// (rpc.NewClient("10.0.0.1:2379,10.0.0.2:2379", ...)); the Builder does not
// close it.
func NewBuilder(etcd *rpc.ClientConn, prefix string) *Builder {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Builder{etcd: etcd, prefix: prefix}
}

// Scheme returns "etcd".
func (b *Builder) Scheme() string { return Scheme }

// Build starts watching the addresses of the service the target names.
func (b *Builder) Build(t resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	service := strings.Trim(t.Endpoint, "/")
	if service == "" {
		return nil, fmt.Errorf("etcd resolver: target %q names no service", t.Raw)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &etcdResolver{
		cc: cc, key: ServiceKey(b.prefix, service),
		kv: etcdserverpb.NewKVClient(b.etcd), watch: etcdserverpb.NewWatchClient(b.etcd),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	go r.run()
	return r, nil
}

// ServiceKey is the key prefix of a service's addresses: each address is
// the key ServiceKey(prefix, service)+addr, with the address as value.
func ServiceKey(prefix, service string) string { return prefix + service + "/" }

// rangeEnd is the end of the key range of every key starting with prefix.
func rangeEnd(prefix string) []byte {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

type etcdResolver struct {
	cc     resolver.ClientConn
	key    string
	kv     etcdserverpb.KVClient
	watch  etcdserverpb.WatchClient
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// ResolveNow does nothing: the watch reports every change as it happens.
func (r *etcdResolver) ResolveNow() {}

func (r *etcdResolver) Close() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// run lists the addresses, then follows the watch from the listed
// revision; when anything fails it starts over after a backoff.
func (r *etcdResolver) run() {
	defer close(r.done)
	for failures := 0; ; failures++ {
		err := r.follow()
		if r.ctx.Err() != nil {
			return
		}
		r.cc.ReportError(fmt.Errorf("etcd resolver: %w", err))
		t := time.NewTimer(min(100*time.Millisecond<<min(failures, 8), 10*time.Second))
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// follow lists, then watches, until the watch ends.
func (r *etcdResolver) follow() error {
	resp, err := r.kv.Range(r.ctx, &etcdserverpb.RangeRequest{Key: []byte(r.key), RangeEnd: rangeEnd(r.key)}, rpc.WaitForReady(true))
	if err != nil {
		return err
	}
	addrs := map[string]string{}
	for _, kv := range resp.Kvs {
		addrs[string(kv.Key)] = string(kv.Value)
	}
	r.push(addrs)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	w, err := r.watch.Watch(ctx)
	if err != nil {
		return err
	}
	if err := w.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{
		CreateRequest: &etcdserverpb.WatchCreateRequest{Key: []byte(r.key), RangeEnd: rangeEnd(r.key), StartRevision: resp.Header.GetRevision() + 1},
	}}); err != nil {
		return err
	}
	for {
		wr, err := w.Recv()
		if err != nil {
			return err
		}
		if wr.Canceled {
			return errors.New("the watch was canceled: " + wr.CancelReason)
		}
		if len(wr.Events) == 0 {
			continue
		}
		for _, ev := range wr.Events {
			switch ev.Type {
			case mvccpb.Event_PUT:
				addrs[string(ev.Kv.Key)] = string(ev.Kv.Value)
			case mvccpb.Event_DELETE:
				delete(addrs, string(ev.Kv.Key))
			}
		}
		r.push(addrs)
	}
}

func (r *etcdResolver) push(addrs map[string]string) {
	st := resolver.State{Addresses: make([]resolver.Address, 0, len(addrs))}
	for _, a := range addrs {
		st.Addresses = append(st.Addresses, resolver.Address{Addr: a})
	}
	_ = r.cc.UpdateState(st)
}
