package rpc

import (
	"context"

	"google.golang.org/protobuf/proto"
)

// A unary call's attempts: invoke sends the call, again while the server
// never processed it, and as the service config's retry or hedging policy
// says; unaryAttempt is one attempt, shared by retries and hedging.

// invoke is the unary call on the streaming path, retried transparently
// when the server never processed it, and as the service config's retry
// or hedging policy says (serviceconfig_retry.go, serviceconfig_hedge.go).
// gRPC-Web and Connect calls take the same steps: only an attempt differs
// (httpCaller.attempt).
func invoke(ctx context.Context, method string, args, reply any, cc *ClientConn, opts ...CallOption) error {
	if err := cc.awaitConfig(ctx); err != nil {
		return err
	}
	sc := cc.sc.Load()
	mc := sc.methodConfig(method)
	if c, cancel := mc.withTimeout(ctx); cancel != nil {
		ctx = c
		defer cancel()
	}
	if mc != nil && mc.hedge != nil {
		if m, ok := reply.(proto.Message); ok {
			return cc.hedge(ctx, method, args, m, sc, mc, opts)
		}
	}
	var rs retryState
	for {
		a := cc.unaryAttempt(ctx, method, args, reply, opts, mc != nil && mc.retry != nil)
		if a.err == nil || ctx.Err() != nil {
			return a.err
		}
		delay, retry := rs.next(sc, mc, a.err, a.committed, a.pushback, a.hasPushback)
		if !retry {
			return a.err
		}
		if !sleepCtx(ctx, delay) {
			return retryWaitEnded(ctx, a.err)
		}
	}
}

// attempt is how one attempt of a unary call ended.
type attempt struct {
	err         error
	committed   bool // response headers came
	pushback    string
	hasPushback bool
}

// unaryAttempt makes one attempt of a unary call, sent again while the
// server never processed it; wantPushback reads grpc-retry-pushback-ms.
func (cc *ClientConn) unaryAttempt(ctx context.Context, method string, args, reply any, opts []CallOption, wantPushback bool) attempt {
	if cc.http != nil {
		return cc.http.attempt(ctx, method, args, reply, opts, wantPushback)
	}
	for n := 0; ; n++ {
		cs, err := cc.newClientStream(ctx, unaryDesc, method, opts, args)
		if err != nil {
			return attempt{err: err}
		}
		err = cs.unary(reply)
		cs.pickDone(err)
		cs.reportStats(err)
		a := attempt{err: err, committed: cs.headerRecv}
		if err != nil && wantPushback {
			a.pushback, a.hasPushback = pushbackOf(cs.stream(), nil)
		}
		retry := err != nil && cs.unprocessed && n < cc.cfg.maxRetries && ctx.Err() == nil
		cs.recycle()
		if !retry {
			return a
		}
	}
}
