package sizeclass

import "math/bits"

// Why four classes per doubling above 64 KiB: a 1 MiB protobuf message with
// its 5-byte gRPC prefix and its own few bytes of framing is just over
// 1 MiB, and a stream buffer sized for a 1 MiB frame leaves a sixteenth more
// room (h2/read.go), so with powers of two every such buffer was 2 MiB,
// half of it never written. Unary 1 MiB calls at c=8 kept about 40 MB of
// those in their heap, twice what grpc-go's whole heap held for the same
// calls, and each MB the heap grows costs 256 page faults, which on the
// shared virtual machines this runs on cost as much CPU as the copies
// (docs/benchmarks.md). Small buffers keep powers of two: their waste is
// small in bytes, and fewer classes keep more of each class in its pool.
const (
	fineShift = 16 // 64 KiB: the first size with finer classes above it
	fineSteps = 4  // classes per doubling above fineShift; a power of two
	stepShift = 2  // log2(fineSteps)
)

// Up returns the smallest class size that holds n bytes (1 for n <= 1).
func Up(n int) int {
	if n <= 1 {
		return 1
	}
	if n <= 1<<fineShift {
		return 1 << bits.Len(uint(n-1))
	}
	step := 1 << (bits.Len(uint(n-1)) - 1 - stepShift)
	return (n + step - 1) &^ (step - 1)
}

// Down returns the largest class size that n bytes can serve (0 for n < 1):
// the class a buffer of capacity n is filed under when it goes back to a
// pool, so that it satisfies every request of that class.
func Down(n int) int {
	if n < 1 {
		return 0
	}
	s := bits.Len(uint(n)) - 1
	if s < fineShift {
		return 1 << s
	}
	step := 1 << (s - stepShift)
	return n &^ (step - 1)
}

// Index numbers the class sizes densely from 0 (size 1), for pools kept in
// arrays: Index(Up(n)) is n's class. size must be a class size.
func Index(size int) int {
	if size <= 1<<fineShift {
		return bits.Len(uint(size)) - 1
	}
	// Above 2^fineShift, 2^s < size <= 2^(s+1) has classes 2^s·(1 + k/4),
	// k = 1..4 (2^(s+1) being k = 4 of the doubling below it).
	s := bits.Len(uint(size-1)) - 1
	k := (size - 1<<s) >> (s - stepShift)
	return fineShift + (s-fineShift)*fineSteps + k
}
