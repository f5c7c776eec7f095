//go:build fleet

package fleet

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/resolver/etcd"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The servers are this test binary run again with FLEET_SERVE set: a
// process of their own, so that kill -9 is a real one.

const (
	serveEnv  = "FLEET_SERVE"
	maxAgeEnv = "FLEET_MAX_AGE"
	etcdEnv   = "FLEET_ETCD" // the etcd to register in, when the fleet uses one
	// leaseTTL is the lease servers register under: a killed server leaves
	// the registry this long after its last renewal.
	leaseTTL  = 2 * time.Second
	whoMethod = "/fleet.Fleet/Who"
	// work is how long each call takes on the server, so that calls are in
	// flight when a server goes.
	work = 2 * time.Millisecond
)

type whoServer interface{ who() string }

type who string

func (w who) who() string { return string(w) }

func whoHandler(srv any, ctx context.Context, dec func(any) error, _ rpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	select {
	case <-time.After(work):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return wrapperspb.String(srv.(whoServer).who()), nil
}

var whoDesc = rpc.ServiceDesc{
	ServiceName: "fleet.Fleet",
	HandlerType: (*whoServer)(nil),
	Methods:     []rpc.MethodDesc{{MethodName: "Who", Handler: whoHandler}},
}

// serve runs a server on addr until SIGTERM, which shuts it down
// gracefully (running calls finish, GOAWAY tells clients to go elsewhere).
func serve(addr string) int {
	maxAge, _ := time.ParseDuration(os.Getenv(maxAgeEnv))
	srv := rpc.NewServer(rpc.KeepaliveParams(rpc.ServerParameters{MaxConnectionAge: maxAge, MaxConnectionAgeGrace: 30 * time.Second}))
	srv.RegisterService(&whoDesc, who(addr))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet server:", err)
		return 1
	}
	var reg *etcd.Registration
	if e := os.Getenv(etcdEnv); e != "" {
		ecc, err := rpc.NewClient(e, rpc.WithInsecure())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			reg, err = etcd.Register(ctx, ecc, "", "fleet", addr, leaseTTL)
			cancel()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleet server: registering in etcd:", err)
			return 1
		}
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-term
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if reg != nil {
			// Leave the registry first: clients stop sending new calls here.
			_ = reg.Deregister(ctx)
		}
		_ = srv.Shutdown(ctx)
	}()
	fmt.Println("ready")
	_ = srv.Serve(l) // returns as Shutdown begins: the exit waits for its end
	<-done
	return 0
}

// server is a running server process.
type server struct {
	addr string
	cmd  *exec.Cmd
}

func startServer(t *testing.T, addr string, maxAge time.Duration, env ...string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), serveEnv+"="+addr, maxAgeEnv+"="+maxAge.String()), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &server{addr: addr, cmd: cmd}
	t.Cleanup(s.kill)
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "server %s did not start", addr)
	require.Equal(t, "ready", strings.TrimSpace(line))
	return s
}

// stop shuts the server down gracefully and waits for it to exit.
func (s *server) stop(t *testing.T) {
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, s.cmd.Wait())
}

// kill is kill -9.
func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}
