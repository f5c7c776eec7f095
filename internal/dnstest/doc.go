// Package dnstest is a DNS server on loopback for tests: it answers A and
// AAAA queries from a table the test changes while clients run, so that
// resolution can be tested without root or /etc/hosts.
package dnstest
