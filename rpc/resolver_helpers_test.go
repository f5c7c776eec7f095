package rpc

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testFleet is a set of echo servers on one port of several loopback
// addresses (127.0.0.2, 127.0.0.3, ...), as a DNS name of a fleet would
// list them, each counting the calls it served.
type testFleet struct {
	port  string
	srvs  []*Server
	calls []*atomic.Int64
	hosts []string
}

// startFleet starts n servers with sopts on 127.0.0.2 and up, one port.
func startFleet(t *testing.T, n int, sopts ...ServerOption) *testFleet {
	t.Helper()
	return startFleetWith(t, n, func(int) []ServerOption { return sopts })
}

// startFleetWith is startFleet with options per server; register, when
// given, registers more services on each before it serves.
func startFleetWith(t *testing.T, n int, sopts func(i int) []ServerOption, register ...func(i int, s *Server)) *testFleet {
	t.Helper()
	for try := 0; try < 20; try++ {
		f := &testFleet{}
		ls, ok := f.listen(t, n)
		if !ok {
			continue // the port was taken on one of the addresses: another port
		}
		for i, l := range ls {
			var count atomic.Int64
			counter := func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
				count.Add(1)
				return h(ctx, req)
			}
			srv := NewServer(append([]ServerOption{ChainUnaryInterceptor(counter)}, sopts(i)...)...)
			srv.RegisterService(&echoDesc, &echoImpl{})
			for _, r := range register {
				r(i, srv)
			}
			go func() { _ = srv.Serve(l) }()
			f.srvs = append(f.srvs, srv)
			f.calls = append(f.calls, &count)
			f.hosts = append(f.hosts, "127.0.0."+strconv.Itoa(i+2))
		}
		t.Cleanup(func() {
			for _, s := range f.srvs {
				s.Stop()
			}
		})
		return f
	}
	t.Fatal("no port free on every loopback address")
	return nil
}

func (f *testFleet) listen(t *testing.T, n int) ([]net.Listener, bool) {
	first, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	_, f.port, _ = net.SplitHostPort(first.Addr().String())
	ls := []net.Listener{first}
	for i := 1; i < n; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%s", i+2, f.port))
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, false
		}
		ls = append(ls, l)
	}
	return ls, true
}

func (f *testFleet) addr(i int) string { return net.JoinHostPort(f.hosts[i], f.port) }

func (f *testFleet) counts() []int64 {
	out := make([]int64, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Load()
	}
	return out
}

// callUntil makes calls one after another until cond holds (checked after
// each), failing the test on any error or after limit.
func callUntil(t *testing.T, cc *ClientConn, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not met within %v", limit)
		e := &env{cc: cc}
		_, err := e.echo(ctxTimeout(t, 5*time.Second), "x")
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
}
