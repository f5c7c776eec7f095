package sizeclass

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUp(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 1}, {1, 1}, {2, 2}, {3, 4}, {512, 512}, {513, 1024},
		{64 << 10, 64 << 10},
		{64<<10 + 1, 80 << 10},
		{80 << 10, 80 << 10},
		{112<<10 + 1, 128 << 10},
		{128 << 10, 128 << 10},
		{128<<10 + 1, 160 << 10},
		// A 1 MiB message with its prefix and framing, and a 1 MiB frame
		// with a sixteenth more room: 1.25 MiB, not 2.
		{1<<20 + 13, 1280 << 10},
		{1<<20 + 1<<16, 1280 << 10},
		{2 << 20, 2 << 20},
		{3<<20 + 1, 3584 << 10},
		{4 << 20, 4 << 20},
	} {
		require.Equal(t, c.want, Up(c.n), "Up(%d)", c.n)
	}
}

func TestDown(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {3, 2}, {4, 4}, {3000, 2048},
		{64 << 10, 64 << 10},
		{80<<10 - 1, 64 << 10},
		{80 << 10, 80 << 10},
		{128<<10 - 1, 112 << 10},
		{1280 << 10, 1280 << 10},
		{1536<<10 - 1, 1280 << 10},
		{4<<20 + 5, 4 << 20},
	} {
		require.Equal(t, c.want, Down(c.n), "Down(%d)", c.n)
	}
}

// Every class size is its own Up and Down, and Index numbers them 0, 1, 2,
// ... in order, so pools can sit in arrays.
func TestIndexIsDense(t *testing.T) {
	want := 0
	for size := 1; size <= 8<<20; size = Up(size + 1) {
		require.Equal(t, size, Up(size))
		require.Equal(t, size, Down(size))
		require.Equal(t, want, Index(size), "Index(%d)", size)
		want++
	}
	require.Equal(t, 17+7*4, want, "powers of two to 64 KiB, then four per doubling to 8 MiB")
}

// Up never wastes more than a quarter of the class above 64 KiB.
func TestUpWasteAboveFine(t *testing.T) {
	for n := 64<<10 + 1; n <= 4<<20; n += 4093 {
		require.Less(t, Up(n)-n, Up(n)/4+1, "Up(%d) = %d", n, Up(n))
	}
}
