package h2

import (
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// How a handler of TestUnreadBytesNeverShrinkTheConnectionWindow treats the
// request body, and how its caller treats the response.
const (
	handlerReadsAll = iota
	handlerReadsNone
	handlerReadsSome
	handlerWaitsForTheEnd // responds, then returns once the whole body is in, unread
	handlerModes
)

const (
	callerReadsAll = iota
	callerResetsAtOnce
	callerReadsSomeThenResets
	callerResetsOnceItEnded // the whole response in, unread
	callerModes
)

// TestUnreadBytesNeverShrinkTheConnectionWindow mixes every way a handler and
// a caller can leave bytes unread on sessions with 64 KiB connection windows,
// several streams at once, so that the bytes of a few hundred calls pass
// through each window many times over: a byte kept out of the window for good
// would soon leave calls waiting for credit that never comes. Once every call
// is over, both ends' connection windows are whole again, less at most the
// quarter that is credited in one go.
func TestUnreadBytesNeverShrinkTheConnectionWindow(t *testing.T) {
	goroutineLeakCheck(t)
	const window = 65535
	var server atomic.Pointer[Session]
	srv := &Server{Options: Options{ConnWindowSize: window}, Handler: HandlerFunc(func(st *Stream) {
		server.Store(st.Session())
		mode, _ := strconv.Atoi(st.Header().Get("x-handler"))
		size, _ := strconv.Atoi(st.Header().Get("x-response"))
		switch mode {
		case handlerReadsAll:
			_, _ = io.Copy(io.Discard, st)
		case handlerReadsSome:
			_, _ = st.Read(make([]byte, 100))
		}
		_ = st.Respond(Header{{Name: ":status", Value: "200"}}, nil)
		_, _ = st.Write(make([]byte, size))
		_ = st.CloseWrite()
		if mode == handlerWaitsForTheEnd {
			for !st.InboundEnded() && st.Err() == nil {
				time.Sleep(100 * time.Microsecond)
			}
		}
	})}
	c := memPair(t, srv, &ClientOptions{Options: Options{ConnWindowSize: window}})
	rng := rand.New(rand.NewPCG(1, 2))
	type call struct{ handler, caller, request, response int }
	calls := make(chan call)
	go func() {
		defer close(calls)
		for range 300 {
			calls <- call{rng.IntN(handlerModes), rng.IntN(callerModes), rng.IntN(40 << 10), rng.IntN(40 << 10)}
		}
	}()
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for k := range calls {
				hdr := append(post("/"), HeaderField{Name: "x-handler", Value: strconv.Itoa(k.handler)},
					HeaderField{Name: "x-response", Value: strconv.Itoa(k.response)})
				st, err := c.Request(ctx, hdr, nil)
				if err != nil {
					errs <- err
					return
				}
				// The handler may have answered and returned: the body's
				// end is all that must get through.
				_, _ = st.Write(make([]byte, k.request))
				_ = st.CloseWrite()
				if _, err := st.Response(ctx); err != nil {
					errs <- err
					return
				}
				switch k.caller {
				case callerReadsAll:
					if _, err := io.Copy(io.Discard, st); err != nil {
						errs <- err
						return
					}
				case callerResetsAtOnce:
					st.Reset(ErrCodeCancel)
				case callerReadsSomeThenResets:
					_, _ = st.Read(make([]byte, 100))
					st.Reset(ErrCodeCancel)
				case callerResetsOnceItEnded:
					for !st.InboundEnded() && ctx.Err() == nil {
						time.Sleep(100 * time.Microsecond)
					}
					st.Reset(ErrCodeCancel)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	whole := func(s *Session) bool { return s.State().LocalWindowSize > window-window/4 }
	require.Eventually(t, func() bool {
		s := server.Load()
		return s != nil && whole(s) && whole(c) && c.State().OpenStreams == 0
	}, waitLong, time.Millisecond, "connection windows after every call: client %d, server %d of %d", c.State().LocalWindowSize, server.Load().State().LocalWindowSize, window)
}
