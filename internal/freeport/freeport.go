package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// rangeFile holds the kernel's ephemeral port range ("32768\t60999" on
// Linux by default): the ports it picks for listeners on port 0 and for
// outgoing connections.
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// lowest is where the search starts: above the well-known and most
// registered service ports.
const lowest = 10000

// ErrNone says no port below the ephemeral range was free on every host.
var ErrNone = errors.New("freeport: no free port below the ephemeral range")

// BelowEphemeral returns a port below the kernel's ephemeral range that
// nothing listens on now on any of hosts (IP addresses). A port found by
// listening on port 0 lies within that range: once released, any process
// on the machine listening on port 0 or dialing out may be given it before
// the test's own server binds it, and a shared machine does that all the
// time. Below the range only a process that names the port itself can.
func BelowEphemeral(hosts ...string) (int, error) {
	high := ephemeralLow()
	if high <= lowest {
		return 0, ErrNone
	}
	for range 100 {
		port := lowest + rand.IntN(high-lowest)
		if freeOn(port, hosts) {
			return port, nil
		}
	}
	return 0, ErrNone
}

// ephemeralLow is the first port of the ephemeral range: the kernel's, or
// 32768 (Linux's default and IANA's 49152 are both above) when it cannot
// be read.
func ephemeralLow() int {
	b, err := os.ReadFile(rangeFile)
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 32768
	}
	return low
}

// freeOn reports whether port can be listened on at every host.
func freeOn(port int, hosts []string) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for _, h := range hosts {
		l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}
