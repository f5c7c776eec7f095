package retry

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/rpc"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

// StreamClientInterceptor retries server-streaming calls (one request, a
// stream of responses) that fail before the first response reaches the
// application; after that a failure is final, since a new attempt would
// repeat what the application already saw. Client- and bidi-streaming calls
// are passed through: their requests would have to be buffered to replay.
// The same rules as for unary calls apply (idempotent calls only, codes,
// backoff, deadline); PerAttemptTimeout does not apply to streams.
func StreamClientInterceptor(o Options) (rpc.StreamClientInterceptor, error) {
	r, err := newRetrier(o)
	if err != nil {
		return nil, err
	}
	return r.interceptStream, nil
}

func (r *retrier) interceptStream(ctx context.Context, desc *rpc.StreamDesc, cc *rpc.ClientConn, method string, streamer rpc.Streamer, opts ...rpc.CallOption) (rpc.ClientStream, error) {
	if desc.ClientStreams || !r.isIdempotent(ctx, method) {
		return streamer(ctx, desc, cc, method, opts...)
	}
	s := &retryStream{r: r, ctx: ctx, open: func() (rpc.ClientStream, error) {
		return streamer(ctx, desc, cc, method, opts...)
	}}
	cur, err := s.open()
	for err != nil {
		if err = s.again(err); err == nil {
			cur, err = s.open()
		} else {
			return nil, err
		}
	}
	s.cur = cur
	return s, nil
}

// retryStream is a server-streaming call that may be reopened until its
// first response.
type retryStream struct {
	r    *retrier
	ctx  context.Context
	open func() (rpc.ClientStream, error)

	mu       sync.Mutex
	cur      rpc.ClientStream
	req      any
	sent     bool
	closed   bool
	received bool
	attempts int // retries made
}

func (s *retryStream) current() rpc.ClientStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// again decides whether to retry after err and waits the backoff; it
// returns nil to go on, or the error to give the application.
func (s *retryStream) again(err error) error {
	s.attempts++
	if s.attempts >= s.r.o.MaxAttempts || !s.r.codes[status.Code(err)] || s.ctx.Err() != nil {
		return err
	}
	d := s.r.backoff(s.attempts)
	if dl, ok := s.ctx.Deadline(); ok && time.Until(dl) <= d {
		return err
	}
	if s.r.sleep(s.ctx, d) != nil {
		return err
	}
	return nil
}

func (s *retryStream) Header() (md metadata.MD, err error) { return s.current().Header() }
func (s *retryStream) Trailer() metadata.MD                { return s.current().Trailer() }
func (s *retryStream) Context() context.Context            { return s.current().Context() }

// SendMsg remembers the request so that a new attempt can send it again.
func (s *retryStream) SendMsg(m any) error {
	s.mu.Lock()
	s.req, s.sent = m, true
	cur := s.cur
	s.mu.Unlock()
	return cur.SendMsg(m)
}

func (s *retryStream) CloseSend() error {
	s.mu.Lock()
	s.closed = true
	cur := s.cur
	s.mu.Unlock()
	return cur.CloseSend()
}

// RecvMsg reopens the call on a retryable failure before any response.
func (s *retryStream) RecvMsg(m any) error {
	for {
		err := s.current().RecvMsg(m)
		if err == nil {
			s.mu.Lock()
			s.received = true
			s.mu.Unlock()
			return nil
		}
		s.mu.Lock()
		final := s.received || errors.Is(err, io.EOF)
		s.mu.Unlock()
		if final {
			return err
		}
		if err = s.reopen(err); err != nil {
			return err
		}
	}
}

// reopen starts a new attempt after err, replaying the request and the
// half-close; nil means the new attempt is current.
func (s *retryStream) reopen(err error) error {
	for {
		if err = s.again(err); err != nil {
			return err
		}
		var ns rpc.ClientStream
		if ns, err = s.open(); err != nil {
			continue
		}
		s.mu.Lock()
		req, sent, closed := s.req, s.sent, s.closed
		s.cur = ns
		s.mu.Unlock()
		if sent {
			if err = ns.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
				continue
			}
		}
		if closed {
			// A failed half-close shows up as the call's status on RecvMsg.
			_ = ns.CloseSend()
		}
		return nil
	}
}
