package rpc

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
	"github.com/stretchr/testify/require"
)

// gRPC-Web and Connect calls carry the client's and the call's per-call
// credentials as gRPC calls do (client_credentials_test.go), and refuse to
// send those that require transport security in cleartext.
func TestWebCallsCarryCredentials(t *testing.T) {
	forEachWebCarrier(t, func(t *testing.T, p Protocol, c webCarrier) {
		got := make(chan metadata.MD, 4)
		record := func(ctx context.Context, req any, _ *UnaryServerInfo, h UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			got <- md
			return h(ctx, req)
		}
		addr := webServer(t, ChainUnaryInterceptor(record))
		key := apiKey{uri: make(chan string, 4)}
		cc := webClient(t, addr, p, c, "{}", WithPerRPCCredentials(key), WithInsecurePerRPCCredentials())
		ctx := ctxTimeout(t, 5*time.Second)

		// The client's credentials, and the call's own beside them.
		_, err := echoOn(ctx, cc, "/test.Echo/Echo", "x", CallCredentials(BearerToken("t0k")))
		require.NoError(t, err)
		md := <-got
		require.Equal(t, []string{"k1"}, md["x-api-key"])
		require.Equal(t, []string{"Bearer t0k"}, md["authorization"])
		host, _, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		require.Equal(t, "https://"+host+"/test.Echo", <-key.uri)

		// A call's credentials that require security, on a client that did
		// not allow cleartext: refused before anything is sent.
		plain := webClient(t, addr, p, c, "{}")
		_, err = echoOn(ctx, plain, "/test.Echo/Echo", "x", CallCredentials(BearerToken("t0k")))
		require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
		require.Empty(t, got, "the server saw the call")
	})
}
