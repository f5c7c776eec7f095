package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/stretchr/testify/require"
)

// Calls to one method share their base request headers (one allocation per
// call fewer), and what a call adds goes to a copy: the shared list never
// sees another call's metadata or timeout.
func TestRequestHeaderSharedAndCopiedOnAddition(t *testing.T) {
	e := newEnv(t, false, nil)
	cc := e.cc
	const method = "/test.Echo/Echo"
	bg := context.Background()

	a, err := cc.requestHeader(bg, method, "application/grpc", nil)
	require.NoError(t, err)
	b, err := cc.requestHeader(bg, method, "application/grpc", nil)
	require.NoError(t, err)
	require.Same(t, &a[0], &b[0], "a call without additions sends the shared list")
	require.Equal(t, len(a), cap(a), "the shared list has no room a call could append into")

	md := metadata.AppendToOutgoingContext(bg, "k", "v")
	withMD, err := cc.requestHeader(md, method, "application/grpc", nil)
	require.NoError(t, err)
	require.Equal(t, "v", withMD.Get("k"))
	dl, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	withTimeout, err := cc.requestHeader(dl, method, "application/grpc", nil)
	require.NoError(t, err)
	require.NotEmpty(t, withTimeout.Get("grpc-timeout"))

	again, err := cc.requestHeader(bg, method, "application/grpc", nil)
	require.NoError(t, err)
	require.Equal(t, a, again, "additions reached the shared list")
	require.Empty(t, again.Get("k"))
	require.Empty(t, again.Get("grpc-timeout"))

	other, err := cc.requestHeader(bg, method, "application/grpc+json", nil)
	require.NoError(t, err)
	require.Equal(t, "application/grpc+json", other.Get("content-type"), "another codec for the same method")
	require.Equal(t, method, other.Get(":path"))
}
