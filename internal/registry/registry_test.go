package registry

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNamesAreCaseInsensitiveAndLastRegistrationWins(t *testing.T) {
	var r Map[int]
	require.Zero(t, r.Get("dns"))
	r.Register("DNS", 1)
	require.Equal(t, 1, r.Get("dns"))
	require.Equal(t, 1, r.Get("Dns"))
	r.Register("dns", 2)
	require.Equal(t, 2, r.Get("DNS"))
}

func TestConcurrentUse(t *testing.T) {
	var r Map[string]
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); r.Register("x", "v") }()
		go func() { defer wg.Done(); _ = r.Get("x") }()
	}
	wg.Wait()
	require.Equal(t, "v", r.Get("X"))
}
