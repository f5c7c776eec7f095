// Package forwarder is the chaos suite's impaired network: a TCP forwarder
// that delays, "loses", reorders and blackholes the bytes it carries.
//
// It exists because the kernel the suite runs on has no netem qdisc. A TCP
// forwarder sees a byte stream, not packets, so each impairment is modelled
// by what it does to the stream a TCP receiver hands to its application:
//
//   - delay: every chunk read from one side is written to the other side no
//     earlier than Delay ± Jitter (uniform) after it was read;
//   - loss: a lost segment reaches the receiver only after the sender's
//     retransmission timeout, so a "lost" chunk waits LossPenalty more
//     (Linux's minimum RTO, 200 ms, by default);
//   - reordering: TCP hands bytes up in order, so a segment that arrives
//     late holds back the ones that overtook it; a "reordered" chunk waits
//     one more Jitter.
//
// Bytes are never dropped or reordered in the stream itself (that would be a
// corrupt connection, not a lossy network), and every chunk waits for the one
// before it, as a TCP receiver does. Blackhole stalls both directions of every
// connection, and the dialing of new ones, until it is lifted.
package forwarder

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config is the impairment applied to each direction of each connection.
type Config struct {
	Delay       time.Duration // one-way delay of every chunk
	Jitter      time.Duration // uniform in [-Jitter, +Jitter], added to Delay
	Loss        float64       // probability that a chunk is "lost" (0..1)
	LossPenalty time.Duration // extra wait of a lost chunk; 0 means 200 ms
	Reorder     float64       // probability that a chunk is "reordered" (0..1)
	Seed        uint64        // seed of the random source (reproducible runs)
}

// Stats counts what the forwarder did.
type Stats struct {
	Conns, Chunks, Bytes, Lost, Reordered int64
}

// maxChunk bounds one read, the unit the impairments apply to (a few
// segments of a loopback or veth link).
const maxChunk = 16 << 10

// queuedChunks bounds the chunks in flight in one direction: a reader that
// is this far ahead of its writer waits, as a sender does on a full window.
const queuedChunks = 256

// Forwarder accepts connections on a listener and forwards each to Target.
type Forwarder struct {
	l      net.Listener
	target string
	cfg    Config

	mu        sync.Mutex
	rnd       *rand.Rand
	conns     map[net.Conn]struct{}
	closed    bool
	blackhole chan struct{} // non-nil and open while the network is down

	conns64, chunks, bytes, lost, reordered atomic.Int64
	wg                                      sync.WaitGroup
}

// New returns a forwarder from l to target; call Serve to start it.
func New(l net.Listener, target string, cfg Config) *Forwarder {
	if cfg.LossPenalty == 0 {
		cfg.LossPenalty = 200 * time.Millisecond
	}
	return &Forwarder{
		l:      l,
		target: target,
		cfg:    cfg,
		rnd:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		conns:  make(map[net.Conn]struct{}),
	}
}

// Addr is the address clients connect to.
func (f *Forwarder) Addr() net.Addr { return f.l.Addr() }

// Stats returns the counters so far.
func (f *Forwarder) Stats() Stats {
	return Stats{
		Conns: f.conns64.Load(), Chunks: f.chunks.Load(), Bytes: f.bytes.Load(),
		Lost: f.lost.Load(), Reordered: f.reordered.Load(),
	}
}

// SetBlackhole stalls (on) or releases (off) all traffic.
func (f *Forwarder) SetBlackhole(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case on && f.blackhole == nil:
		f.blackhole = make(chan struct{})
	case !on && f.blackhole != nil:
		close(f.blackhole)
		f.blackhole = nil
	}
}

// waitOpen returns once the network is not blackholed.
func (f *Forwarder) waitOpen() {
	f.mu.Lock()
	bh := f.blackhole
	f.mu.Unlock()
	if bh != nil {
		<-bh
	}
}

// Serve accepts until the listener is closed; it returns nil after Close.
func (f *Forwarder) Serve() error {
	for {
		c, err := f.l.Accept()
		if err != nil {
			f.mu.Lock()
			closed := f.closed
			f.mu.Unlock()
			if closed {
				return nil
			}
			return err
		}
		if !f.track(c) {
			c.Close()
			return nil
		}
		f.conns64.Add(1)
		f.wg.Add(1)
		go f.handle(c)
	}
}

// Close stops accepting, closes every connection and waits for the
// forwarder's goroutines.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	if f.blackhole != nil {
		close(f.blackhole)
		f.blackhole = nil
	}
	f.mu.Unlock()
	err := f.l.Close()
	f.wg.Wait()
	return err
}

func (f *Forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *Forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

// handle dials the target for one accepted connection and pumps both ways.
func (f *Forwarder) handle(client net.Conn) {
	defer f.wg.Done()
	defer f.untrack(client)
	// A blackholed network answers no SYN: the dial waits until it lifts
	// (Close lifts it too).
	f.waitOpen()
	server, err := net.DialTimeout("tcp", f.target, 5*time.Second)
	if err != nil {
		return
	}
	if !f.track(server) {
		server.Close()
		return
	}
	defer f.untrack(server)
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); f.pump(server, client) }()
	go func() { defer pumps.Done(); f.pump(client, server) }()
	pumps.Wait()
}

type chunk struct {
	b  []byte
	at time.Time
}

// pump copies src to dst through the impairments. A clean end of src is
// passed on as a half-close of dst; when either side fails, both are closed
// so that the opposite pump ends too.
func (f *Forwarder) pump(dst, src net.Conn) {
	q := make(chan chunk, queuedChunks)
	failed := make(chan struct{}) // closed by deliver when dst fails
	delivered := make(chan bool, 1)
	go func() { delivered <- f.deliver(dst, q, failed) }()
	var last time.Time
	var err error
	for err == nil {
		buf := make([]byte, maxChunk)
		var n int
		n, err = src.Read(buf)
		if n > 0 {
			at := f.schedule(time.Now(), last)
			last = at
			f.chunks.Add(1)
			f.bytes.Add(int64(n))
			select {
			case q <- chunk{buf[:n], at}:
			case <-failed:
				err = io.ErrClosedPipe
			}
		}
	}
	close(q)
	ok := <-delivered
	if errors.Is(err, io.EOF) && ok {
		if tc, isTCP := dst.(*net.TCPConn); isTCP {
			_ = tc.CloseWrite()
			return
		}
	}
	src.Close()
	dst.Close()
}

// deliver writes queued chunks when their time comes; it reports whether
// every write succeeded.
func (f *Forwarder) deliver(dst net.Conn, q <-chan chunk, failed chan struct{}) bool {
	for c := range q {
		if d := time.Until(c.at); d > 0 {
			time.Sleep(d)
		}
		f.waitOpen()
		if _, err := dst.Write(c.b); err != nil {
			dst.Close() // wakes the opposite pump's read
			close(failed)
			for range q { // let the reader finish
			}
			return false
		}
	}
	return true
}

// schedule is when a chunk read at now may be written, given that the
// previous one is written at last.
func (f *Forwarder) schedule(now, last time.Time) time.Time {
	f.mu.Lock()
	d := f.cfg.Delay
	if f.cfg.Jitter > 0 {
		d += time.Duration(f.rnd.Int64N(int64(2*f.cfg.Jitter)+1)) - f.cfg.Jitter
	}
	if f.cfg.Loss > 0 && f.rnd.Float64() < f.cfg.Loss {
		d += f.cfg.LossPenalty
		f.lost.Add(1)
	}
	if f.cfg.Reorder > 0 && f.rnd.Float64() < f.cfg.Reorder {
		d += f.cfg.Jitter
		f.reordered.Add(1)
	}
	f.mu.Unlock()
	if d < 0 {
		d = 0
	}
	at := now.Add(d)
	if at.Before(last) {
		at = last // in order, as a TCP receiver hands bytes up
	}
	return at
}
