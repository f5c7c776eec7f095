package h2

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNextFrameBufferedCountsTheWholeLength: a frame is wholly buffered only
// when its header and every byte of its payload are. The length's low bits
// once went into the sum by OR (9 | 1 == 9), so a 1-byte frame with no payload
// yet counted as complete.
func TestNextFrameBufferedCountsTheWholeLength(t *testing.T) {
	for _, n := range []int{0, 1, 6, 7, 8, 9, 15, 16, 255, 16383, readBufSize - frameHeaderLen} {
		frame := appendData(nil, 1, false, make([]byte, n))
		for have := 0; have <= len(frame); have++ {
			if have != len(frame) && have != len(frame)-1 && have != frameHeaderLen-1 {
				continue
			}
			s := &Session{br: newConnReader(bytes.NewReader(frame[:have]))}
			_, _ = s.br.Peek(have) // fill: br holds all the bytes given
			require.Equal(t, have == len(frame), s.nextFrameBuffered(), fmt.Sprintf("payload %d, %d of %d bytes buffered", n, have, len(frame)))
		}
	}
}

// TestAPartialFrameDoesNotHoldBackTheBatchsWakeups: the reader wakes the
// streams a batch concerns before a read that can block. A response whose
// next frame has only arrived in part must reach the caller waiting for it,
// instead of waiting for that frame to be completed (here, never).
func TestAPartialFrameDoesNotHoldBackTheBatchsWakeups(t *testing.T) {
	p, st := openClientRequest(t)

	got := make(chan error, 1)
	go func() {
		h, err := st.Response(ctxT(t))
		if err == nil && h.Get(":status") != "200" {
			err = fmt.Errorf("status %q", h.Get(":status"))
		}
		got <- err
	}()
	// Only a waiting caller needs the wake-up: one that came later would find
	// the headers already there.
	waitParked(t, "(*Stream).Response")

	batch := appendHeaders(nil, 1, false, true, nil, p.encode(":status", "200"))
	partial := appendData(nil, 1, false, []byte{'x'})
	p.mustWrite(append(batch, partial[:frameHeaderLen]...)) // the payload byte never comes
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-p.done:
		t.Fatal("the session ended before the response was delivered")
	case <-ctxT(t).Done():
		t.Fatal("the response headers were read but never delivered to Response")
	}
}

// waitParked waits until a goroutine is blocked in a sync.Cond wait inside
// fn (a function name as stack traces print it).
func waitParked(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(waitLong)
	for {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[sync.Cond.Wait") && strings.Contains(g, fn) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine waits in %s", fn)
		}
		time.Sleep(time.Millisecond)
	}
}
