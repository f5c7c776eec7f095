//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The scenarios with network faults run their server in a namespace of its
// own, joined to the test's namespace by a veth pair:
//
//	test process (client, forwarder)  hostIP  <-veth->  serverIP  server process
//
// Taking the host end down is a real blackhole: the server's packets and the
// client's vanish, and no endpoint is told.
type netns struct {
	name, hostVeth, hostIP, serverIP string
}

var (
	nsOnce sync.Once
	nsErr  error
	theNS  *netns
)

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// serverNetns creates the namespace and veth pair on first use.
func serverNetns(t *testing.T) *netns {
	t.Helper()
	nsOnce.Do(func() {
		id := os.Getpid() % 100000
		n := &netns{
			name:     fmt.Sprintf("h2chaos%d", id),
			hostVeth: fmt.Sprintf("hch%d", id),
			hostIP:   fmt.Sprintf("10.213.%d.1", id%250),
			serverIP: fmt.Sprintf("10.213.%d.2", id%250),
		}
		srvVeth := fmt.Sprintf("hcs%d", id)
		steps := [][]string{
			{"netns", "add", n.name},
			{"link", "add", n.hostVeth, "type", "veth", "peer", "name", srvVeth},
			{"link", "set", srvVeth, "netns", n.name},
			{"addr", "add", n.hostIP + "/24", "dev", n.hostVeth},
			{"link", "set", n.hostVeth, "up"},
			{"-n", n.name, "addr", "add", n.serverIP + "/24", "dev", srvVeth},
			{"-n", n.name, "link", "set", srvVeth, "up"},
			{"-n", n.name, "link", "set", "lo", "up"},
		}
		theNS = n // removed at exit even when a step fails half-way
		for _, s := range steps {
			if nsErr = ip(s...); nsErr != nil {
				return
			}
		}
	})
	if nsErr != nil {
		t.Fatalf("setting up the network namespace: %v", nsErr)
	}
	return theNS
}

// setLink takes the host end of the veth pair up or down.
func (n *netns) setLink(t *testing.T, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if err := ip("link", "set", n.hostVeth, state); err != nil {
		t.Fatal(err)
	}
}

// netemAvailable reports whether the kernel has the netem qdisc, tried in
// the namespace (the suite uses its forwarder either way; this only says so).
func (n *netns) netemAvailable() bool {
	if ip("-n", n.name, "link", "add", "netemchk", "type", "dummy") != nil {
		return false
	}
	defer ip("-n", n.name, "link", "del", "netemchk")
	err := exec.Command("ip", "netns", "exec", n.name, "tc", "qdisc", "add", "dev", "netemchk", "root", "netem", "delay", "1ms").Run()
	return err == nil
}

func removeNetns() {
	if theNS != nil {
		_ = ip("netns", "del", theNS.name) // takes the veth pair with it
		_ = ip("link", "del", theNS.hostVeth)
	}
}
