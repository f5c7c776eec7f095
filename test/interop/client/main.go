package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/test/interop/testcases"
)

type config struct {
	host, hostOverride, caFile, testCase string
	port                                 int
	useTLS, useTestCA                    bool
	caseTimeout                          time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.host, "server_host", "localhost", "server host to connect to")
	flag.IntVar(&c.port, "server_port", 10000, "server port to connect to")
	flag.StringVar(&c.testCase, "test_case", "large_unary", "test case to run: a name, a comma-separated list, or all")
	flag.BoolVar(&c.useTLS, "use_tls", false, "connect with TLS (ALPN h2)")
	flag.BoolVar(&c.useTestCA, "use_test_ca", false, "trust only the CA in --ca_file instead of the system roots")
	flag.StringVar(&c.caFile, "ca_file", "", "PEM file of the test CA, for --use_test_ca")
	flag.StringVar(&c.hostOverride, "server_host_override", "", "host name to claim in TLS and :authority (default --server_host)")
	flag.DurationVar(&c.caseTimeout, "case_timeout", 30*time.Second, "time limit of each test case")
	flag.Parse()
	os.Exit(run(c))
}

// run runs the selected cases and returns the process exit code.
func run(c config) int {
	cases, err := testcases.Select(c.testCase)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop client:", err)
		return 2
	}
	cc, err := dial(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop client:", err)
		return 2
	}
	defer cc.Close()
	failed := 0
	for _, tc := range cases {
		start := time.Now()
		if err := testcases.Run(context.Background(), cc, tc, c.caseTimeout); err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", tc.Name, err)
			continue
		}
		fmt.Printf("PASS %s (%v)\n", tc.Name, time.Since(start).Round(time.Millisecond))
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "interop client: %d of %d cases failed\n", failed, len(cases))
		return 1
	}
	return 0
}

func dial(c config) (*rpc.ClientConn, error) {
	if c.port <= 0 || c.port > 65535 {
		return nil, fmt.Errorf("--server_port %d out of range", c.port)
	}
	var opts []rpc.DialOption
	if c.hostOverride != "" {
		opts = append(opts, rpc.WithAuthority(c.hostOverride))
	}
	if c.useTLS {
		cfg, err := tlsConfig(c)
		if err != nil {
			return nil, err
		}
		opts = append(opts, rpc.WithTLS(cfg))
	} else if c.useTestCA {
		return nil, errors.New("--use_test_ca needs --use_tls")
	}
	return rpc.NewClient(net.JoinHostPort(c.host, strconv.Itoa(c.port)), append([]rpc.DialOption{rpc.WithInsecure()}, opts...)...)
}

func tlsConfig(c config) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: c.hostOverride}
	if !c.useTestCA {
		return cfg, nil
	}
	if c.caFile == "" {
		return nil, errors.New("--use_test_ca needs --ca_file (grpc-go's testdata/x509/ca.pem)")
	}
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
