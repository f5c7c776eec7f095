package freelist

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testConfig has classes from 16 B to 4 KiB, listed from 256 B, and a
// budget of one 4 KiB buffer: small enough that tests fill it quickly.
var testConfig = Config{MinShift: 4, MaxShift: 12, ListShift: 8, Budget: 4 << 10}

// give puts back a buffer of capacity size, filed as a user would file it.
func give(p *Pool[*[]byte], size int) *[]byte {
	b := make([]byte, 0, size)
	c, ok := p.ClassOf(size)
	if ok {
		p.Put(c, &b, size)
	}
	return &b
}

// listedBytes adds up the buffers the free lists hold.
func listedBytes(p *Pool[*[]byte]) int {
	n := 0
	for _, l := range p.lists {
		for range len(l) {
			e := <-l
			n += e.bytes
			l <- e
		}
	}
	return n
}

func TestClassesArePowersOfTwo(t *testing.T) {
	p := New[*[]byte](testConfig)
	for _, tc := range []struct{ n, class int }{{0, 0}, {1, 0}, {16, 0}, {17, 1}, {256, 4}, {257, 5}, {4096, 8}} {
		c, ok := p.Class(tc.n)
		require.True(t, ok, "%d bytes", tc.n)
		require.Equal(t, tc.class, c, "%d bytes", tc.n)
		require.GreaterOrEqual(t, p.Size(c), tc.n)
	}
	_, ok := p.Class(4097)
	require.False(t, ok, "beyond the largest class")

	// A buffer serves the class its capacity fills, rounded down.
	for _, tc := range []struct{ size, class int }{{16, 0}, {31, 0}, {32, 1}, {300, 4}, {4096, 8}} {
		c, ok := p.ClassOf(tc.size)
		require.True(t, ok, "capacity %d", tc.size)
		require.Equal(t, tc.class, c, "capacity %d", tc.size)
		require.LessOrEqual(t, p.Size(c), tc.size)
	}
	for _, size := range []int{0, 15, 4097} {
		_, ok := p.ClassOf(size)
		require.False(t, ok, "capacity %d is outside the classes", size)
	}
}

// Listed buffers survive garbage collections, which empty a sync.Pool
// within two.
func TestListedBuffersSurviveCollections(t *testing.T) {
	p := New[*[]byte](testConfig)
	const size = 256
	c, _ := p.ClassOf(size)
	mine := map[*[]byte]bool{}
	for range testConfig.Budget / size {
		mine[give(p, size)] = true
	}
	runtime.GC()
	runtime.GC()
	runtime.GC()
	for range len(mine) {
		b, ok := p.Get(c)
		require.True(t, ok, "a buffer given back was lost to the collections")
		require.True(t, mine[b], "a buffer given back was lost to the collections")
		delete(mine, b)
	}
}

// Classes below ListShift are left to their sync.Pool: they take none of
// the budget.
func TestSmallClassesAreNotListed(t *testing.T) {
	p := New[*[]byte](testConfig)
	for _, size := range []int{16, 64, 255} {
		for range 4 {
			give(p, size)
		}
	}
	require.Zero(t, listedBytes(p))
	require.Zero(t, p.kept.Load())
	c, _ := p.Class(64)
	_, ok := p.Get(c)
	require.True(t, ok, "the sync.Pool did not keep it")
}

// The free lists share one budget: giving back more than it of any mix of
// classes neither blocks nor keeps them all, and the first class given back
// takes all of it.
func TestListsShareOneBudget(t *testing.T) {
	p := New[*[]byte](testConfig)
	for _, size := range []int{256, 4096, 1024, 512} {
		for range 2 * testConfig.Budget / size {
			give(p, size)
		}
	}
	require.Equal(t, testConfig.Budget, listedBytes(p), "the 256 B buffers filled the budget")
	require.Equal(t, int64(testConfig.Budget), p.kept.Load())
	require.Equal(t, testConfig.Budget/256, len(p.lists[0]), "only 256 B buffers were kept")
}

// A buffer taken from a list gives its share of the budget back, for the
// next buffer given back to take.
func TestGetFreesItsShareOfTheBudget(t *testing.T) {
	p := New[*[]byte](testConfig)
	c, _ := p.ClassOf(512)
	for range testConfig.Budget / 512 {
		give(p, 512)
	}
	taken, ok := p.Get(c)
	require.True(t, ok)
	require.Equal(t, int64(testConfig.Budget-512), p.kept.Load())
	p.Put(c, taken, 512)
	require.Equal(t, testConfig.Budget/512, len(p.list(c)), "the buffer went to the sync.Pool instead")
}

// A buffer that grew past its class counts for all the bytes it pins, not
// for its class's size.
func TestGrownBuffersCountForAllTheyPin(t *testing.T) {
	p := New[*[]byte](testConfig)
	const size = 768 // in the 512 B class
	for range testConfig.Budget / 256 {
		give(p, size)
	}
	require.Equal(t, testConfig.Budget/size, len(p.lists[1]))
	require.Equal(t, int64(testConfig.Budget/size*size), p.kept.Load())
	require.Equal(t, testConfig.Budget/size*size, listedBytes(p))
}

func TestEmptyLetsEveryListedBufferGo(t *testing.T) {
	p := New[*[]byte](testConfig)
	for _, size := range []int{256, 1024} {
		give(p, size)
		give(p, size)
	}
	require.NotZero(t, p.kept.Load())
	p.Empty()
	require.Zero(t, listedBytes(p))
	require.Zero(t, p.kept.Load())
	for range testConfig.Budget / 256 {
		give(p, 256)
	}
	require.Equal(t, testConfig.Budget, listedBytes(p), "the budget is whole again")
}

// Goroutines that take and give back buffers at once leave the count equal
// to what the lists hold, within the budget.
func TestConcurrentUseKeepsTheCount(t *testing.T) {
	p := New[*[]byte](testConfig)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			size := 256 << (g % 3)
			c, _ := p.ClassOf(size)
			for range 1000 {
				b, ok := p.Get(c)
				if !ok {
					nb := make([]byte, 0, size)
					b = &nb
				}
				p.Put(c, b, cap(*b))
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(listedBytes(p)), p.kept.Load())
	require.LessOrEqual(t, p.kept.Load(), int64(testConfig.Budget))
}
