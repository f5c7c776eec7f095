package freelist

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Config sizes a Pool's classes. Classes are powers of two from
// 1<<MinShift to 1<<MaxShift bytes; those from 1<<ListShift up keep a free
// list as well as a sync.Pool.
type Config struct {
	MinShift, MaxShift int
	// ListShift is the first class with a free list: below it, reallocating
	// a buffer a collection dropped costs less than pinning it.
	ListShift int
	// Budget is how many bytes the free lists hold in all.
	Budget int
}

// A Pool holds freed buffers in size classes. T is how its user holds a
// buffer without allocating to give it back: a pointer (*[]byte, or the
// buffer's first byte when the class says its length). Its methods are safe
// for concurrent use.
type Pool[T any] struct {
	cfg   Config
	pools []sync.Pool
	// lists holds the free lists of the classes from ListShift up (index:
	// class - the first listed class). Buffered channels: a non-blocking
	// send or receive is cheap and safe from any goroutine.
	lists []chan listed[T]
	// kept is how many bytes the lists hold: a buffer goes into one only
	// while that stays within the budget.
	kept atomic.Int64
}

// listed is a buffer in a free list with its size, which its class rounds
// down: a buffer that grew past its class counts for all it pins.
type listed[T any] struct {
	buf   T
	bytes int
}

// New returns an empty Pool with cfg's classes.
func New[T any](cfg Config) *Pool[T] {
	p := &Pool[T]{cfg: cfg, pools: make([]sync.Pool, cfg.MaxShift-cfg.MinShift+1)}
	p.lists = make([]chan listed[T], cfg.MaxShift-cfg.ListShift+1)
	for i := range p.lists {
		// As many of the class as the budget holds: the budget, not the
		// list, is what bounds a class that is the only one in use.
		p.lists[i] = make(chan listed[T], cfg.Budget>>(cfg.ListShift+i))
	}
	return p
}

// Class returns the class of the smallest buffers that hold n bytes, and
// false when n is beyond the largest class.
func (p *Pool[T]) Class(n int) (int, bool) {
	if n <= 1<<p.cfg.MinShift {
		return 0, true
	}
	c := bits.Len(uint(n-1)) - p.cfg.MinShift
	return c, c < len(p.pools)
}

// ClassOf returns the class a buffer of capacity size can serve: rounded
// down, since it must satisfy every request of its class. It returns false
// for a size outside the classes.
func (p *Pool[T]) ClassOf(size int) (int, bool) {
	if size < 1<<p.cfg.MinShift || size > 1<<p.cfg.MaxShift {
		return 0, false
	}
	return bits.Len(uint(size)) - 1 - p.cfg.MinShift, true
}

// Size returns the capacity of class c's buffers.
func (p *Pool[T]) Size(c int) int { return 1 << (c + p.cfg.MinShift) }

// list returns class c's free list, or nil for a class without one.
func (p *Pool[T]) list(c int) chan listed[T] {
	if i := c + p.cfg.MinShift - p.cfg.ListShift; i >= 0 {
		return p.lists[i]
	}
	return nil
}

// Get returns a buffer of class c, from its free list first, and false when
// there is none to reuse.
func (p *Pool[T]) Get(c int) (T, bool) {
	if l := p.list(c); l != nil {
		select {
		case e := <-l:
			p.kept.Add(-int64(e.bytes))
			return e.buf, true
		default:
		}
	}
	b, ok := p.pools[c].Get().(T)
	return b, ok
}

// Put gives back buf, of class c and capacity size. The caller must drop
// every reference to it.
func (p *Pool[T]) Put(c int, buf T, size int) {
	if l := p.list(c); l != nil {
		if p.kept.Add(int64(size)) <= int64(p.cfg.Budget) {
			select {
			case l <- listed[T]{buf, size}:
				return
			default:
			}
		}
		p.kept.Add(-int64(size))
	}
	p.pools[c].Put(buf)
}

// Empty lets the GC have every buffer of the free lists, so that what they
// pin starts from nothing.
func (p *Pool[T]) Empty() {
	for _, l := range p.lists {
		for len(l) > 0 {
			select {
			case e := <-l:
				p.kept.Add(-int64(e.bytes))
			default:
			}
		}
	}
}
