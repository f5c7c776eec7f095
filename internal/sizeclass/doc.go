// Package sizeclass maps buffer sizes to the size classes of h2's stream
// buffer pools and rpc's message buffer pools: powers of two up to 64 KiB,
// then four classes per doubling, so that a pooled buffer wastes at most a
// quarter of its size where a power of two could waste half.
package sizeclass
