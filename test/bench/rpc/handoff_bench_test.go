package main

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkHandoffChain measures what the goroutine hand-offs of a one-call-
// at-a-time round trip cost on this machine, apart from any protocol: a TCP
// ping-pong over loopback in which the same CPU work is done at the same
// stages, arranged in the chain shapes an RPC engine can choose from.
//
// The floor shape is the bare ping-pong (the caller writes and reads its own
// socket, the server answers on the connection's goroutine: two goroutine
// wake-ups per round trip, both by the network poller). The h2 shape is how
// h2 runs a unary call (six wake-ups): the caller hands its bytes to a writer
// goroutine, the server's reader hands the request to a handler goroutine,
// the handler hands its answer to the server's writer goroutine, and the
// client's reader hands the answer to the caller; each writer yields once
// before it writes, as h2's writer does. The other shapes change one link of
// that chain. Each round trip does stageWork of CPU in the caller before it
// sends and after it receives, and twice in the server's handler.
//
//	cd test/bench/rpc && for i in 1 2 3 4 5; do go test -run XXX -bench HandoffChain -cpu 2,1; done
//
// Rounds of all shapes, not -count: on a shared VM the machine's state moves
// every shape at once by several µs, so only differences within one round
// mean anything. p50-µs is the median round trip, cpu-µs/op the process's
// CPU time per round trip (both ends, spinning threads included). What it
// showed on the 2-core VM is in docs/performance-history.md ("Hand-off
// chains").
func BenchmarkHandoffChain(b *testing.B) {
	for _, shape := range chainShapes {
		b.Run(shape.name, func(b *testing.B) {
			ch := startChain(b, shape, stageWork)
			msg := bytes.Repeat([]byte{'x'}, chainMsgSize)
			lat := make([]time.Duration, 0, 1<<16)
			defer cpuPerCall(b)() // web_http1_bench_test.go
			for b.Loop() {
				start := time.Now()
				if err := ch.roundTrip(msg); err != nil {
					b.Fatal(err)
				}
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(start))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Microsecond), "p50-µs")
		})
	}
}

// TestHandoffChainEchoes checks that every shape BenchmarkHandoffChain
// measures carries each round trip's bytes there and back, in order.
func TestHandoffChainEchoes(t *testing.T) {
	for _, shape := range chainShapes {
		t.Run(shape.name, func(t *testing.T) {
			ch := startChain(t, shape, 0)
			for i := range 50 {
				msg := bytes.Repeat([]byte{byte('a' + i%26)}, chainMsgSize)
				require.NoError(t, ch.roundTrip(msg))
				require.Equal(t, msg, ch.got)
			}
		})
	}
}

const (
	// chainMsgSize is about the size of a small unary call's frames.
	chainMsgSize = 64
	// stageWork is the CPU each stage spends: four stages of 2 µs come close
	// to the 8-10 µs of user CPU that an h2rpc unary call of 1 B spends on its
	// critical path (a profile with GOMAXPROCS=1, where the path is serial).
	stageWork = 2 * time.Microsecond
)

// writerMode is who writes a side's bytes to its socket.
type writerMode uint8

const (
	callerWrites   writerMode = iota // the goroutine that has the bytes
	writerGoes                       // a writer goroutine, handed the bytes by channel
	writerYieldsGo                   // a writer goroutine that yields once before each write (h2's)
)

// serverMode is how the server side runs the handler.
type serverMode uint8

const (
	connRunsHandler   serverMode = iota // the connection's goroutine reads, handles, answers
	handlerGoroutine                    // the reader hands the request to a long-lived handler goroutine (h2's)
	goroutinePerCall                    // the reader starts a new goroutine per request
	readerRunsHandler                   // the reader handles the request itself, then hands the answer on
)

type chainShape struct {
	name         string
	callerReads  bool // else a reader goroutine hands the answer over by channel
	callerSpins  int  // Gosched rounds the caller polls for the answer before it blocks
	clientWriter writerMode
	server       serverMode
	serverWriter writerMode
}

var chainShapes = []chainShape{
	{name: "floor", callerReads: true, clientWriter: callerWrites, server: connRunsHandler, serverWriter: callerWrites},
	{name: "h2", clientWriter: writerYieldsGo, server: handlerGoroutine, serverWriter: writerYieldsGo},
	{name: "h2-writers-without-yield", clientWriter: writerGoes, server: handlerGoroutine, serverWriter: writerGoes},
	{name: "h2-caller-writes-and-reads", callerReads: true, clientWriter: callerWrites, server: handlerGoroutine, serverWriter: writerYieldsGo},
	{name: "h2-handler-writes", clientWriter: writerYieldsGo, server: handlerGoroutine, serverWriter: callerWrites},
	{name: "h2-reader-runs-handler", clientWriter: writerYieldsGo, server: readerRunsHandler, serverWriter: writerYieldsGo},
	{name: "h2-goroutine-per-call", clientWriter: writerYieldsGo, server: goroutinePerCall, serverWriter: writerYieldsGo},
	{name: "h2-caller-spins", callerSpins: 3, clientWriter: writerYieldsGo, server: handlerGoroutine, serverWriter: writerYieldsGo},
}

// chain is the client end of one shape's connection.
type chain struct {
	shape   chainShape
	work    time.Duration
	conn    net.Conn
	write   func([]byte) error
	answers chan []byte // from the client's reader goroutine, when there is one
	rbuf    []byte
	got     []byte // the last answer
}

func startChain(tb testing.TB, shape chainShape, work time.Duration) *chain {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serveChain(c, shape, work)
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(tb, err)
	ch := &chain{shape: shape, work: work, conn: conn, rbuf: make([]byte, chainMsgSize)}
	stopWriter := func() {}
	ch.write, stopWriter = newChainWriter(conn, shape.clientWriter)
	readerDone := make(chan struct{})
	if shape.callerReads {
		close(readerDone)
	} else {
		ch.answers = make(chan []byte, 1)
		go func() {
			defer close(readerDone)
			for {
				buf := make([]byte, chainMsgSize)
				if _, err := io.ReadFull(conn, buf); err != nil {
					close(ch.answers)
					return
				}
				ch.answers <- buf
			}
		}()
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		_ = l.Close()
		stopWriter()
		<-readerDone
		<-served
	})
	return ch
}

// roundTrip sends msg and waits for its echo in ch.got.
func (ch *chain) roundTrip(msg []byte) error {
	spend(ch.work)
	if err := ch.write(msg); err != nil {
		return err
	}
	if ch.shape.callerReads {
		if _, err := io.ReadFull(ch.conn, ch.rbuf); err != nil {
			return err
		}
		ch.got = ch.rbuf
	} else {
		ch.got = ch.awaitAnswer()
		if ch.got == nil {
			return io.ErrUnexpectedEOF
		}
	}
	spend(ch.work)
	return nil
}

func (ch *chain) awaitAnswer() []byte {
	for range ch.shape.callerSpins {
		select {
		case a := <-ch.answers:
			return a
		default:
			runtime.Gosched()
		}
	}
	return <-ch.answers
}

// serveChain answers every chainMsgSize bytes read from c with the same
// bytes, running the handler (2 × work) as shape says.
func serveChain(c net.Conn, shape chainShape, work time.Duration) {
	write, stopWriter := newChainWriter(c, shape.serverWriter)
	defer stopWriter()
	handle := func(req []byte) error {
		spend(2 * work)
		return write(req)
	}
	switch shape.server {
	case connRunsHandler, readerRunsHandler: // the two differ in their writer
		for {
			// A fresh buffer, as in the other modes: a writer goroutine may
			// still hold the last one.
			req := make([]byte, chainMsgSize)
			if _, err := io.ReadFull(c, req); err != nil || handle(req) != nil {
				return
			}
		}
	case handlerGoroutine:
		inbox := make(chan []byte, 1)
		handlerDone := make(chan struct{})
		go func() {
			defer close(handlerDone)
			for req := range inbox {
				if handle(req) != nil {
					return
				}
			}
		}()
		defer func() { close(inbox); <-handlerDone }()
		for {
			req := make([]byte, chainMsgSize)
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			inbox <- req
		}
	case goroutinePerCall:
		var handlers sync.WaitGroup
		defer handlers.Wait() // before the writer stops
		for {
			req := make([]byte, chainMsgSize)
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			handlers.Go(func() { _ = handle(req) })
		}
	}
}

// newChainWriter returns how a side writes to c in mode, and what stops it.
// The bytes handed to a writer goroutine are not touched again until the
// round trip ends, so no copy is needed.
func newChainWriter(c net.Conn, mode writerMode) (write func([]byte) error, stop func()) {
	if mode == callerWrites {
		return func(p []byte) error { _, err := c.Write(p); return err }, func() {}
	}
	queue := make(chan []byte, 1)
	failed := make(chan struct{}) // closed once a write failed
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range queue {
			if mode == writerYieldsGo {
				runtime.Gosched()
			}
			if _, err := c.Write(p); err != nil {
				close(failed)
				for range queue { // until stopped
				}
				return
			}
		}
	}()
	write = func(p []byte) error {
		select {
		case <-failed:
			return net.ErrClosed
		case queue <- p:
			return nil
		}
	}
	return write, func() { close(queue); <-done }
}

// spend keeps the CPU busy for d, standing in for a stage's real work.
func spend(d time.Duration) {
	if d <= 0 {
		return
	}
	for start := time.Now(); time.Since(start) < d; {
	}
}
