package main

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// raisedTo lifts the soft limit to what is needed and the hard one only
// when it is lower, never lowering either.
func TestRaisedTo(t *testing.T) {
	require.Equal(t, syscall.Rlimit{Cur: 30000, Max: 1 << 20}, raisedTo(syscall.Rlimit{Cur: 1024, Max: 1 << 20}, 30000))
	require.Equal(t, syscall.Rlimit{Cur: 20100, Max: 20100}, raisedTo(syscall.Rlimit{Cur: 20000, Max: 20000}, 20100))
}

// A soft limit below what is needed is raised (up to the hard limit, which
// needs no privilege), and a need beyond what the kernel allows any
// process (fs.nr_open is at most 2^30) fails at once with an error that
// says what needs the files and what the limit is.
func TestEnsureFiles(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	t.Cleanup(func() { require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)) })
	low := syscall.Rlimit{Cur: 512, Max: lim.Max}
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))

	require.NoError(t, ensureFiles(1000, "1,000 things"))
	var now syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now))
	require.Greater(t, now.Cur, uint64(1000))

	err := ensureFiles(1<<31, "2^31 things")
	require.ErrorContains(t, err, "2^31 things need")
	require.ErrorContains(t, err, "open files")
}

// The run makes room for the largest idle-connections case it selects, as
// many connections as that case opens in smoke mode, and for none when it
// selects none.
func TestIdleConnsAtOnce(t *testing.T) {
	require.Equal(t, 10000, idleConnsAtOnce(options{}))
	require.Equal(t, 1000, idleConnsAtOnce(options{cases: []string{"memory/idle-conns", "unary"}}))
	require.Equal(t, 10000, idleConnsAtOnce(options{cases: []string{"memory/idle-10k"}}))
	require.Equal(t, smokeIdle, idleConnsAtOnce(options{smoke: true}))
	require.Zero(t, idleConnsAtOnce(options{cases: []string{"memory/idle-streams", "unary"}}))
}
