package h2

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// releases records the buffers WriteOwned gives back, in order, and spoils
// each as a pool's next user would: bytes still to be sent from it would
// arrive changed.
type releases struct {
	mu   sync.Mutex
	bufs []*[]byte
	got  chan struct{}
}

func newReleases() *releases { return &releases{got: make(chan struct{}, 64)} }

func (r *releases) release(bp *[]byte) {
	for i := range *bp {
		(*bp)[i] = 'X'
	}
	r.mu.Lock()
	r.bufs = append(r.bufs, bp)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *releases) list() []*[]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*[]byte(nil), r.bufs...)
}

// requireEachBackOnce waits for every buffer in sent to be given back
// (failing with notBack if one is not) and checks none came back twice.
func (r *releases) requireEachBackOnce(t *testing.T, sent []*[]byte, notBack string) {
	t.Helper()
	for range sent {
		select {
		case <-r.got:
		case <-time.After(waitLong):
			t.Fatal(notBack)
		}
	}
	require.ElementsMatch(t, sent, r.list(), "every buffer is given back exactly once")
	require.Empty(t, r.got, "a buffer was given back twice")
}

// Buffers handed over with WriteOwned arrive whole and unchanged, large ones
// (sent from where they are, over TCP without a copy) and small ones (copied
// and given back before WriteOwned returns) alike, and each is given back
// exactly once, after h2 is done with it.
func TestWriteOwnedSendsEveryBufferIntactAndGivesItBack(t *testing.T) {
	transports(t, func() *Server { return &Server{Handler: echoAll} }, func(t *testing.T, c *Session) {
		rel := newReleases()
		st, err := c.Request(ctxT(t), post("/"), nil)
		require.NoError(t, err)
		var want []byte
		var sent []*[]byte
		for i, size := range []int{1 << 20, 100 << 10, 1 << 10, 1 << 20, zeroCopyMin} {
			b := bytes.Repeat([]byte{byte('a' + i)}, size)
			want = append(want, b...)
			bp := &b
			sent = append(sent, bp)
			n, err := st.WriteOwned(bp, rel.release)
			require.NoError(t, err)
			require.Equal(t, size, n)
			if size < zeroCopyMin {
				require.Same(t, bp, rel.list()[len(rel.list())-1], "a small buffer is copied and given back at once")
			}
		}
		require.NoError(t, st.CloseWrite())
		st.SetDeadline(time.Now().Add(waitLong))
		got, err := io.ReadAll(st)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "the peer saw bytes changed after their buffer was given back")
		require.Eventually(t, func() bool { return len(rel.list()) == len(sent) }, waitLong, time.Millisecond)
		require.ElementsMatch(t, sent, rel.list(), "every buffer is given back once")
	})
}

// WriteOwned returns once its buffer is queued, not once it is written (the
// peer here reads nothing, so a Write of the same bytes would block), and
// gives the buffer back only once the kernel is done with it: here when the
// session dies and its write fails.
func TestWriteOwnedReturnsBeforeItsBytesAreWritten(t *testing.T) {
	goroutineLeakCheck(t)
	c := dialStalledPeer(t)
	st, err := c.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)

	rel := newReleases()
	b := make([]byte, 32<<20) // more than the socket buffers hold
	done := make(chan error, 1)
	go func() {
		_, err := st.WriteOwned(&b, rel.release)
		done <- err
	}()
	requireGivenBackOnlyAfterItsWrite(t, "WriteOwned", c, func() *Stream { return st }, done, &b, rel)
}

// requireGivenBackOnlyAfterItsWrite checks an owned buffer's hand-over to a
// stalled peer: the call (how) ends before b is written (done), b stays
// h2's while the kernel reads it, and the session's death gives it back
// once. st is read after done, when the call has made the stream.
func requireGivenBackOnlyAfterItsWrite(t *testing.T, how string, c *Session, st func() *Stream, done <-chan error, b *[]byte, rel *releases) {
	t.Helper()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitLong):
		t.Fatal(how + " waited for its bytes to be written")
	}
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return st().zcInFlight > 0
	}, waitLong, time.Millisecond, "the buffer is being written")
	require.Empty(t, rel.list(), "the buffer was given back while the kernel still read it")

	c.Abort(ErrCodeCancel, nil)
	select {
	case <-rel.got:
		require.Len(t, rel.list(), 1)
		require.Same(t, b, rel.list()[0])
	case <-time.After(waitLong):
		t.Fatal("the buffer was not given back after the session died")
	}
}

// A write behind a WriteOwned buffer that waits for flow control gives up
// when its deadline passes: no caller waits on the buffer to give up for it.
func TestWriteBehindAnOwnedBufferKeepsItsDeadline(t *testing.T) {
	p := newClientPeer(t, nil)
	p.serverHandshake() // the RFC's 65,535-byte windows
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	b := make([]byte, 1<<20)
	_, err = st.WriteOwned(&b, func(*[]byte) {})
	require.NoError(t, err)

	st.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := st.Write([]byte("next"))
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(waitLong):
		t.Fatal("the write waited past its deadline")
	}
}

// A body handed over to end a stream (EndOwned, Respond's and Request's
// OwnedBody) arrives whole and unchanged, large or small, and each buffer is
// given back exactly once, after h2 is done with it: the handler's response
// and the client's request both.
func TestOwnedBodiesArriveIntactAndGoBackOnce(t *testing.T) {
	for _, size := range []int{1 << 10, zeroCopyMin, 1 << 20} {
		srvRel, cliRel := newReleases(), newReleases()
		trailersToo := size != zeroCopyMin // one size ends with END_STREAM on its body
		handler := HandlerFunc(func(st *Stream) {
			req, err := io.ReadAll(st)
			if err != nil {
				st.Reset(ErrCodeInternal)
				return
			}
			resp := append([]byte(nil), req...)
			var trailers Header
			if trailersToo {
				trailers = Header{{Name: "x-len", Value: strconv.Itoa(len(req))}}
			}
			if st.Header().Get(":path") == "/end" {
				_ = st.Respond(nil, nil)
				_, _ = st.EndOwned(&resp, srvRel.release, trailers)
				return
			}
			_ = st.Respond(nil, &RespondOptions{OwnedBody: &resp, Release: srvRel.release, Trailers: trailers})
		})
		for _, path := range []string{"/respond", "/end"} {
			t.Run(strconv.Itoa(size)+path, func(t *testing.T) {
				transports(t, func() *Server { return &Server{Handler: handler} }, func(t *testing.T, c *Session) {
					want := bytes.Repeat([]byte{'r'}, size)
					body := append([]byte(nil), want...)
					st, err := c.Request(ctxT(t), post(path), &RequestOptions{OwnedBody: &body, Release: cliRel.release, EndStream: true})
					require.NoError(t, err)
					st.SetDeadline(time.Now().Add(waitLong))
					got, err := io.ReadAll(st)
					require.NoError(t, err)
					require.True(t, bytes.Equal(want, got), "a buffer was changed (given back) before its bytes were sent")
					if trailersToo {
						require.Equal(t, strconv.Itoa(size), st.Trailers().Get("x-len"))
					}
					for _, r := range []*releases{cliRel, srvRel} {
						select {
						case <-r.got:
						case <-time.After(waitLong):
							t.Fatal("a buffer was not given back")
						}
					}
					require.Len(t, cliRel.list(), 1)
					require.Same(t, &body, cliRel.list()[0])
					require.Len(t, srvRel.list(), 1)
					cliRel.bufs, srvRel.bufs = nil, nil
				})
			})
		}
	}
}

// EndOwned and Request with an OwnedBody return once the body is queued,
// not once it is written (the peer here reads nothing, so End or a lent
// Body would block), and give the buffer back only once the kernel is done
// with it: here when the session dies and its write fails.
func TestOwnedBodiesReturnBeforeTheirBytesAreWritten(t *testing.T) {
	for _, how := range []string{"EndOwned", "Request"} {
		t.Run(how, func(t *testing.T) {
			goroutineLeakCheck(t)
			c := dialStalledPeer(t)
			rel := newReleases()
			b := make([]byte, 32<<20) // more than the socket buffers hold
			var st *Stream
			done := make(chan error, 1)
			go func() {
				var err error
				if how == "Request" {
					st, err = c.Request(ctxT(t), post("/"), &RequestOptions{OwnedBody: &b, Release: rel.release, EndStream: true})
				} else if st, err = c.Request(ctxT(t), post("/"), nil); err == nil {
					_, err = st.EndOwned(&b, rel.release, nil)
				}
				done <- err
			}()
			requireGivenBackOnlyAfterItsWrite(t, how, c, func() *Stream { return st }, done, &b, rel)
		})
	}
}

// An owned body that h2 refuses (bad trailers, a request that cannot
// start) is given back once, before the call returns its error.
func TestRefusedOwnedBodiesGoBackAtOnce(t *testing.T) {
	goroutineLeakCheck(t)
	bad := Header{{Name: ":bad", Value: "x"}}
	refused := make(chan int, 2)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		rel := newReleases()
		b := make([]byte, 1<<20)
		errRespond := st.Respond(nil, &RespondOptions{OwnedBody: &b, Release: rel.release, Trailers: bad})
		b2 := make([]byte, 1<<20)
		_, errEnd := st.EndOwned(&b2, rel.release, bad)
		if errRespond != nil && errEnd != nil {
			refused <- len(rel.list())
		}
		st.Reset(ErrCodeInternal)
	})}, nil)
	st, err := c.Request(ctxT(t), post("/"), &RequestOptions{EndStream: true})
	require.NoError(t, err)
	st.SetDeadline(time.Now().Add(waitLong))
	_, _ = io.ReadAll(st)
	select {
	case n := <-refused:
		require.Equal(t, 2, n, "each refused buffer is given back before the call returns")
	case <-time.After(waitLong):
		t.Fatal("the handler's owned bodies with bad trailers were not refused")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rel := newReleases()
	b := make([]byte, 1<<20)
	_, err = c.Request(ctx, post("/"), &RequestOptions{OwnedBody: &b, Release: rel.release, EndStream: true})
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, rel.list(), 1, "a request that never started gives its body back")
}

// A stream reset while its owned body waits for flow control gives the
// buffer back at once: nothing will send it, and nothing writes from it.
func TestResetStreamGivesItsOwnedBodyBack(t *testing.T) {
	p := newClientPeer(t, nil)
	p.serverHandshake() // the RFC's 65,535-byte windows
	st, err := p.sess.Request(ctxT(t), post("/"), nil)
	require.NoError(t, err)
	p.expectHeaders(1)
	rel := newReleases()
	b := make([]byte, 1<<20)
	_, err = st.EndOwned(&b, rel.release, nil)
	require.NoError(t, err)
	require.Empty(t, rel.list(), "given back while most of it waits for window")
	st.Reset(ErrCodeCancel)
	select {
	case <-rel.got:
	case <-time.After(waitLong):
		t.Fatal("the reset stream kept its owned body")
	}
	require.Len(t, rel.list(), 1)
}

// A small owned body is copied, and given back once the session's lock is
// released: its release may use the session (here it reads its stats),
// where one called under the lock would deadlock.
func TestSmallOwnedBodiesGoBackOutsideTheSessionLock(t *testing.T) {
	goroutineLeakCheck(t)
	served := make(chan struct{}, 2)
	c := memPair(t, &Server{Handler: HandlerFunc(func(st *Stream) {
		_, _ = io.ReadAll(st)
		b := []byte("response")
		useSession := func(*[]byte) { _ = st.Session().Stats(); served <- struct{}{} }
		if st.Header().Get(":path") == "/end" {
			_ = st.Respond(nil, nil)
			_, _ = st.EndOwned(&b, useSession, nil)
			return
		}
		_ = st.Respond(nil, &RespondOptions{OwnedBody: &b, Release: useSession})
	})}, nil)
	for _, path := range []string{"/respond", "/end"} {
		b := []byte("request")
		released := make(chan struct{}, 1)
		st, err := c.Request(ctxT(t), post(path), &RequestOptions{OwnedBody: &b, EndStream: true,
			Release: func(*[]byte) { _ = c.Stats(); released <- struct{}{} }})
		require.NoError(t, err)
		st.SetDeadline(time.Now().Add(waitLong))
		got, err := io.ReadAll(st)
		require.NoError(t, err)
		require.Equal(t, "response", string(got))
		for _, ch := range []chan struct{}{released, served} {
			select {
			case <-ch:
			case <-time.After(waitLong):
				t.Fatal("a release that uses the session did not finish")
			}
		}
	}
}
