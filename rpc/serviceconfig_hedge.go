package rpc

import (
	"context"
	"strconv"
	"time"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
	"google.golang.org/protobuf/proto"
)

// Hedging (gRFC A6's hedgingPolicy), for unary calls whose response is a
// protobuf message: the request is sent again every hedgingDelay, up to
// maxAttempts copies in flight, and at once when an attempt fails with one
// of nonFatalStatusCodes. The first attempt that succeeds, fails with
// another code or gets response headers wins; the others are canceled,
// and the call returns only once they have ended, so that none still reads
// the request. Each attempt decodes into a response of its own, merged into
// the caller's by the winner. Streaming calls and other codecs' responses
// are sent once (grpc-go does not hedge at all). A server's
// grpc-retry-pushback-ms delays the next copy; a negative one stops them.

// hedgePolicy is a parsed hedgingPolicy.
type hedgePolicy struct {
	maxAttempts int
	delay       time.Duration
	nonFatal    uint32 // bit per code
}

func (p *hedgePolicy) isNonFatal(c codes.Code) bool { return c < 32 && p.nonFatal&(1<<c) != 0 }

// allows reports whether retryThrottling lets another copy go.
func (t *throttle) allows() bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tokens > t.cfg.maxTokens/2
}

type hedgeResult struct {
	a     attempt
	reply proto.Message
}

func (cc *ClientConn) hedge(ctx context.Context, method string, args any, reply proto.Message, sc *serviceConfig, mc *methodConfig, opts []CallOption) error {
	p := mc.hedge
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan hedgeResult, p.maxAttempts)
	sent, pending := 0, 0
	send := func() {
		sent++
		pending++
		r := reply.ProtoReflect().New().Interface()
		go func() { results <- hedgeResult{cc.unaryAttempt(hctx, method, args, r, opts, true), r} }()
	}
	// finish cancels the attempts still running and waits for them.
	finish := func(win hedgeResult) error {
		cancel()
		for ; pending > 0; pending-- {
			<-results
		}
		if win.a.err == nil {
			proto.Reset(reply)
			proto.Merge(reply, win.reply)
		}
		return win.a.err
	}
	more := true // no pushback said stop
	canSend := func() bool { return more && sent < p.maxAttempts && sc.throttle.allows() }
	send()
	timer := time.NewTimer(p.delay)
	defer timer.Stop()
	var last hedgeResult
	done := ctx.Done()
	for {
		select {
		case <-done:
			if pending == 0 { // waiting out a pushback
				return retryWaitEnded(ctx, last.a.err)
			}
			done = nil // the attempts in flight end with the context
		case <-timer.C:
			if canSend() {
				send()
				timer.Reset(p.delay)
			}
		case res := <-results:
			pending--
			a := res.a
			if a.err == nil || a.committed || !p.isNonFatal(status.Code(a.err)) || ctx.Err() != nil {
				return finish(res)
			}
			sc.throttle.failed()
			last = res
			switch {
			case a.hasPushback:
				ms, err := strconv.ParseInt(a.pushback, 10, 32)
				if err != nil || ms < 0 {
					more = false
				} else {
					timer.Reset(time.Duration(ms) * time.Millisecond)
				}
			case canSend():
				send()
				timer.Reset(p.delay)
			}
			if pending == 0 && !(canSend() && more) {
				return finish(last)
			}
		}
	}
}
