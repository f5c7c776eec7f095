package etcd

import (
	"testing"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/resolver"
	"github.com/stretchr/testify/require"
)

// The resolver against a real etcd (scale out, scale in, a killed server's
// lease expiring) is in test/fleet (TestFleetEtcd), which starts one.

func TestKeys(t *testing.T) {
	require.Equal(t, "/h2rpc/services/greeter/", ServiceKey(DefaultPrefix, "greeter"))
	require.Equal(t, []byte("/svc0"), rangeEnd("/svc/"), "every key that starts with the prefix sorts below")
	require.Equal(t, []byte("b"), rangeEnd("a\xff"))
	require.Equal(t, []byte{0}, rangeEnd("\xff\xff"), "no end: the whole key space")
}

func TestBuildNeedsAService(t *testing.T) {
	cc, err := rpc.NewClient("127.0.0.1:1", rpc.WithInsecure())
	require.NoError(t, err)
	defer cc.Close()
	b := NewBuilder(cc, "")
	require.Equal(t, "etcd", b.Scheme())
	_, err = b.Build(resolver.Target{Raw: "etcd:///", Scheme: "etcd"}, nil, resolver.BuildOptions{})
	require.Error(t, err)
}
