package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBelowEphemeralIsFreeOnEveryHost(t *testing.T) {
	hosts := []string{"127.0.0.1", "127.0.0.2"}
	for range 20 {
		port, err := BelowEphemeral(hosts...)
		require.NoError(t, err)
		require.GreaterOrEqual(t, port, lowest)
		require.Less(t, port, ephemeralLow(), "a port the kernel could hand to someone else")
		for _, h := range hosts {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			require.NoError(t, err, "the port is free on %s", h)
			require.NoError(t, l.Close())
		}
	}
}

func TestFreeOnSeesATakenPort(t *testing.T) {
	port, err := BelowEphemeral("127.0.0.1")
	require.NoError(t, err)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	require.NoError(t, err)
	defer l.Close()
	require.False(t, freeOn(port, []string{"127.0.0.1"}))
	require.True(t, freeOn(port, nil), "no host to check")
}
