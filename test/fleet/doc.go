// Package fleet checks that a client follows a fleet of servers that scale
// out, scale in and die: servers in processes of their own on loopback
// addresses (127.0.0.2 and up, one port), found through a DNS name served
// by a DNS server on loopback that the test starts and changes, the
// client's dns resolver pointed at it (TestFleet), and through an etcd the
// test starts, where the servers register under a lease (TestFleetEtcd).
// It needs no root once etcd (Debian's etcd-server) is installed.
//
// The scenarios take about a minute, so they sit behind the build tag
// "fleet" and stay out of a plain `go test ./...`. Run them with
//
//	bash test/fleet/run.sh
//
// or from this directory with `go test -tags fleet -count=1 -v .`.
package fleet
