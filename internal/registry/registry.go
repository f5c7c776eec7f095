package registry

import (
	"strings"
	"sync"
)

// Map holds values by lower-cased name. The zero value is ready to use.
type Map[T any] struct {
	mu sync.RWMutex
	m  map[string]T
}

// Register stores v under name, replacing what was there.
func (r *Map[T]) Register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]T)
	}
	r.m[strings.ToLower(name)] = v
}

// Get returns the value under name, or T's zero value.
func (r *Map[T]) Get(name string) T {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[strings.ToLower(name)]
}
