//go:build !linux

package h2

import "io"

// newScatterReader: scattered reads are Linux's here; other systems read
// large payloads with plain reads (read_scatter.go).
func newScatterReader(io.Reader) scatterReader { return nil }
