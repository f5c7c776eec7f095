package rpc

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/h2"
	"github.com/h2rpc/h2rpc/rpc/balancer"
	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/metadata"
	"github.com/h2rpc/h2rpc/rpc/status"
)

var unaryDesc = &StreamDesc{}

// clientStream is all per-call state on the client.
type clientStream struct {
	cc    *ClientConn
	ctx   context.Context
	desc  *StreamDesc
	ci    callInfo
	cur   atomic.Pointer[h2.Stream] // the call's stream: replaced when a stream the server never processed is retried
	er    envelopeReader
	comp  Compressor
	codec Codec
	stop  func() bool // stops the cancel watcher
	// resetOnCancel is a unary call's cancel watcher, made once per pooled
	// state and kept across calls (recycle): one allocation per call fewer.
	resetOnCancel func()
	watchRan      bool // the cancel watcher was started: the state must not be recycled
	sentN         int
	closed        bool // CloseSend done

	hmu        sync.Mutex // Header may race with RecvMsg
	headerDone bool
	headerErr  error
	header     metadata.MD

	finished    bool
	finalErr    error // io.EOF for OK, else a status error
	trailer     metadata.MD
	unprocessed bool // the server never saw the stream: safe to retry

	retry streamRetry             // a streaming call's messages, kept until the server is known to process it (client_retry.go)
	done  func(balancer.DoneInfo) // the picker's, called when the call ends (balancer_conn.go)
	// Service config (serviceconfig.go): the config in force when the call
	// began, its method's part, and the end of a stream's configured timeout.
	sc         *serviceConfig
	mc         *methodConfig
	cancelCfg  context.CancelFunc
	headerRecv bool // response headers came (not trailers-only): the call is committed

	recvN     atomic.Int32 // messages received, for stats (read by a canceled stream's report)
	statSent  atomic.Int32 // messages sent, likewise
	method    string
	sh        StatsHandler
	begin     time.Time // set when a StatsHandler is configured
	statsDone atomic.Bool
}

// Invoke performs a unary call. Interceptors run first.
func (cc *ClientConn) Invoke(ctx context.Context, method string, args, reply any, opts ...CallOption) error {
	if cc.cfg.unaryInt != nil {
		return cc.cfg.unaryInt(ctx, method, args, reply, cc, invoke, opts...)
	}
	return invoke(ctx, method, args, reply, cc, opts...)
}

// unaryStreamPool recycles the state of unary calls: unlike streams, it is
// never handed to the caller, so nothing can refer to it after the call.
var unaryStreamPool = sync.Pool{New: func() any { return new(clientStream) }}

// unary receives the response of a call whose request went out with its
// headers (newClientStream).
func (cs *clientStream) unary(reply any) error {
	if err := cs.RecvMsg(reply); err != nil {
		if err == io.EOF {
			return errNoResponse
		}
		return err
	}
	if err := cs.RecvMsg(reply); err != io.EOF {
		if err == nil {
			cs.abort()
			return errSecondResponse
		}
		return err
	}
	return nil
}

// NewStream opens a streaming call. Interceptors run first.
//
// The call ends when RecvMsg returns an error (io.EOF once the server ended
// it with OK) or when ctx is canceled; one of the two must happen, as with
// grpc-go. Until then the call holds its HTTP/2 stream, and what it received
// and has not read counts against the connection's flow-control window. A
// call given up by canceling ctx gives all of that back, also a whole
// response it never read.
func (cc *ClientConn) NewStream(ctx context.Context, desc *StreamDesc, method string, opts ...CallOption) (ClientStream, error) {
	if cc.cfg.streamInt != nil {
		return cc.cfg.streamInt(ctx, desc, cc, method, newStream, opts...)
	}
	return newStream(ctx, desc, cc, method, opts...)
}

func newStream(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error) {
	if cc.http != nil {
		hs, err := cc.http.newStream(ctx, desc, method, opts)
		if err != nil {
			return nil, err
		}
		return hs, nil
	}
	if err := cc.awaitConfig(ctx); err != nil {
		return nil, err
	}
	cs, err := cc.newClientStream(ctx, desc, method, opts, nil)
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// newClientStream opens the call's stream. A unary call passes its request
// (args): it goes out with the headers, in one Request.
func (cc *ClientConn) newClientStream(ctx context.Context, desc *StreamDesc, method string, opts []CallOption, args any) (_ *clientStream, err error) {
	var cs *clientStream
	if desc == unaryDesc {
		cs = unaryStreamPool.Get().(*clientStream)
		cs.cc, cs.ctx, cs.desc = cc, ctx, desc
	} else {
		cs = &clientStream{cc: cc, ctx: ctx, desc: desc}
	}
	cs.ci = callInfo{maxRecv: defaultMaxRecvMsgSize, maxSend: defaultMaxSendMsgSize}
	cs.sc = cc.sc.Load()
	cs.mc = cs.sc.methodConfig(method)
	cs.mc.applyTo(&cs.ci)
	if desc != unaryDesc { // invoke bounds a unary call, all its attempts
		if c, cancel := cs.mc.withTimeout(ctx); cancel != nil {
			ctx, cs.ctx, cs.cancelCfg = c, c, cancel
			defer func() {
				if err != nil {
					cancel()
				}
			}()
		}
	}
	for _, o := range cc.cfg.callOpts {
		o.apply(&cs.ci)
	}
	for _, o := range opts {
		o.apply(&cs.ci)
	}
	if c := cs.ci.compressor; c != "" && c != "identity" {
		cs.comp = GetCompressor(c)
		if cs.comp == nil {
			return nil, status.Errorf(codes.Internal, "rpc: compressor %q is not registered", c)
		}
	}
	ce, err := cs.ci.codecEntry()
	if err != nil {
		return nil, err
	}
	cs.codec = ce.codec
	cs.method = method
	if h := cc.cfg.stats; h != nil {
		cs.begin = time.Now()
		ctx = h.TagRPC(ctx, method)
		cs.ctx, cs.method, cs.sh = ctx, method, h
		cs.evBegin()
		defer func() {
			if err != nil {
				cs.reportStats(err) // a call that never got a stream is reported too
			}
		}()
	}
	hdr, err := cc.requestHeader(ctx, method, ce.contentType, cs.comp)
	if err != nil {
		return nil, err
	}
	if hdr, err = cc.addCredentials(ctx, method, hdr, &cs.ci); err != nil {
		return nil, err
	}
	// A unary request goes out with its headers (ro.OwnedBody): Request
	// returns once it is queued and gives the buffer back once written, so
	// the caller waits for the response rather than for a large request's
	// write, and a failed Request has given it back, so a retry encodes again.
	var ro *h2.RequestOptions
	var unaryReq h2.RequestOptions
	wire := 0
	for attempt := 0; ; attempt++ {
		sess, done, err := cc.pickFor(ctx, method, &cs.ci)
		if err != nil {
			return nil, err
		}
		cs.done = done
		if desc == unaryDesc {
			// Encoded once there is a connection to send it on.
			bp, err := encodeMessage(cs.codec, cs.comp, args, cs.ci.maxSend, 0)
			if err != nil {
				return nil, err
			}
			wire = len(*bp)
			unaryReq = h2.RequestOptions{OwnedBody: bp, Release: releaseSendBuf, EndStream: true}
			ro = &unaryReq
		}
		st, err := sess.Request(ctx, hdr, ro)
		if err != nil {
			cs.pickDone(err)
			if (errors.Is(err, h2.ErrUnprocessed) || errors.Is(err, h2.ErrSessionClosed)) && attempt < cc.cfg.maxRetries && ctx.Err() == nil {
				continue
			}
			if cerr := ctx.Err(); cerr != nil {
				return nil, status.FromContextError(cerr).Err()
			}
			return nil, toStatusError(err)
		}
		cs.cur.Store(st)
		cs.evOutHeader(sess)
		if ro != nil { // the request went with the headers
			cs.sentN, cs.closed = 1, true
			cs.statSent.Add(1)
			cs.evOutPayload(args, wire)
		}
		if cs.ci.peer != nil {
			*cs.ci.peer = *peerOf(sess)
		}
		break
	}
	st := cs.stream()
	cs.er = envelopeReader{r: st, maxSize: cs.ci.maxRecv}
	if desc != unaryDesc {
		cs.retry.start(hdr)
	}
	cs.watch(st)
	return cs, nil
}

// stream is the call's current stream.
func (cs *clientStream) stream() *h2.Stream { return cs.cur.Load() }

// watch resets st with CANCEL when the call's context ends.
func (cs *clientStream) watch(st *h2.Stream) {
	ctx := cs.ctx
	if ctx.Done() == nil {
		return
	}
	if cs.sh != nil && cs.desc != unaryDesc {
		// A stream given up by canceling its context may never see
		// RecvMsg again: report it here (once, whichever comes first).
		// Unary calls report in invoke; their state is pooled.
		cs.stop = context.AfterFunc(ctx, func() {
			st.Reset(h2.ErrCodeCancel)
			cs.reportStats(status.FromContextError(ctx.Err()).Err())
		})
	} else if cs.desc == unaryDesc {
		if cs.resetOnCancel == nil {
			cs.resetOnCancel = func() { cs.stream().Reset(h2.ErrCodeCancel) }
		}
		cs.stop = context.AfterFunc(ctx, cs.resetOnCancel)
	} else {
		cs.stop = context.AfterFunc(ctx, func() { st.Reset(h2.ErrCodeCancel) })
	}
}

func (cs *clientStream) Context() context.Context { return cs.ctx }

func (cs *clientStream) SendMsg(m any) error {
	if cs.closed {
		return status.Error(codes.Internal, "rpc: SendMsg after CloseSend")
	}
	if !cs.desc.ClientStreams && cs.sentN > 0 {
		return status.Error(codes.Internal, "rpc: more than one request message on a call without client streaming")
	}
	if cs.canceled() || cs.ended() {
		// The call has ended (canceled, status received, stream reset or
		// connection lost): as in grpc-go, RecvMsg reports how.
		return io.EOF
	}
	bp, err := encodeMessage(cs.codec, cs.comp, m, cs.ci.maxSend, 0)
	if err != nil {
		return err
	}
	st, kept := cs.retry.keep(cs, bp)
	wire := len(*bp)
	if kept {
		_, err = st.Write(*bp)
		cs.retry.written(bp)
	} else {
		// The stream sends a large message from bp and gives it back once
		// written, while the caller builds its next one (releaseSendBuf).
		_, err = st.WriteOwned(bp, releaseSendBuf)
	}
	cs.sentN++
	cs.statSent.Add(1)
	cs.evOutPayload(m, wire)
	if err != nil && cs.retry.goesOn(cs, st, err) {
		return nil // kept: the call's retry sends it again
	}
	return cs.sendError(err)
}

// sendError turns a failed write into what SendMsg returns: io.EOF, as in
// grpc-go, since the call's real outcome comes from RecvMsg.
func (cs *clientStream) sendError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, h2.ErrUnprocessed) {
		cs.unprocessed = true
	}
	return io.EOF
}

func (cs *clientStream) CloseSend() error {
	if cs.closed {
		return nil
	}
	cs.closed = true
	if cs.canceled() {
		return nil
	}
	if err := cs.retry.closeSend(cs).CloseWrite(); err != nil && errors.Is(err, h2.ErrUnprocessed) {
		cs.unprocessed = true
	}
	return nil // errors surface in RecvMsg
}

// canceled reports whether the call's context has ended, resetting the
// stream if so (a no-op on one already closed). The context's watcher resets
// it too, but from its own goroutine: a step taken right after cancel must not
// race it, or a CloseSend could still reach the server and its answer come
// back. It reads no call state, since SendMsg and RecvMsg may run at once.
func (cs *clientStream) canceled() bool {
	if cs.ctx.Err() == nil {
		return false
	}
	cs.stream().Reset(h2.ErrCodeCancel)
	return true
}

// abort ends the stream when the call gives up on it.
func (cs *clientStream) abort() {
	cs.stream().Reset(h2.ErrCodeCancel)
	cs.stopWatch()
}

func (cs *clientStream) stopWatch() {
	if cs.stop != nil {
		if !cs.stop() {
			cs.watchRan = true
		}
		cs.stop = nil
	}
}

// recycle returns a unary call's state to the pool, keeping its cancel
// watcher's function, unless that watcher was started: it may still be
// reading the state, which then goes to the garbage collector instead.
func (cs *clientStream) recycle() {
	cs.stopWatch()
	if cs.watchRan {
		return
	}
	f := cs.resetOnCancel
	*cs = clientStream{resetOnCancel: f}
	unaryStreamPool.Put(cs)
}

func (cs *clientStream) Header() (metadata.MD, error) {
	if err := cs.waitHeader(); err != nil {
		return nil, err
	}
	return nonNilMD(cs.header.Copy()), nil
}

func (cs *clientStream) Trailer() metadata.MD { return nonNilMD(cs.trailer.Copy()) }

// nonNilMD returns md, or an empty MD for nil: callers that index or range
// the server's metadata need no nil check, as with grpc-go. Only calls that
// ask for the metadata pay for the empty map.
func nonNilMD(md metadata.MD) metadata.MD {
	if md == nil {
		return metadata.MD{}
	}
	return md
}

// waitHeader waits for the response headers and checks them. A
// trailers-only response finishes the call here.
func (cs *clientStream) waitHeader() error {
	cs.hmu.Lock()
	defer cs.hmu.Unlock()
	if cs.headerDone {
		return cs.headerErr
	}
	cs.headerDone = true
	// No watcher of its own for this wait: a ctx that can end is watched for
	// the whole call (newClientStream), and its end resets the stream, which
	// ends this wait too; fail then reports ctx's error. Until the header is
	// in, that watch is in place: only abort (after its reset) and a finished
	// call remove it.
	h, err := cs.retry.response(cs)
	cs.retry.commit()
	if err != nil {
		cs.headerErr = cs.fail(err)
		return cs.headerErr
	}
	if err := grpcCheckResponse(h); err != nil {
		cs.stream().Reset(h2.ErrCodeCancel)
		cs.headerErr = cs.finishWith(err)
		return cs.headerErr
	}
	cs.headerRecv = h.Get("grpc-status") == ""
	cs.header = headerMD(h)
	if cs.ci.header != nil {
		// Filled once, here, so a Header call racing RecvMsg never writes it twice.
		*cs.ci.header = nonNilMD(cs.header)
	}
	c, err := grpcResponseCompressor(h)
	if err != nil {
		cs.stream().Reset(h2.ErrCodeCancel)
		cs.headerErr = cs.finishWith(err)
		return cs.headerErr
	}
	cs.er.decomp = c
	cs.evInHeader(h)
	if h.Get("grpc-status") != "" {
		// Trailers-only: the header block is also the trailer block, if it
		// ended the stream. A status in a header followed by messages or
		// trailers is not the call's (the Connect conformance suite checks
		// that it is ignored): the trailers give the status, or their
		// absence fails the call.
		if st := cs.stream(); st.InboundEnded() && len(st.Trailers()) == 0 && st.Stats().FirstByte.IsZero() {
			cs.finishWith(cs.statusFrom(h))
		}
	}
	return nil
}

// finishWith records the call's outcome once.
func (cs *clientStream) finishWith(err error) error {
	if cs.finished {
		return cs.finalErr
	}
	cs.finished = true
	cs.finalErr = err
	cs.pickDone(err)
	cs.retry.commit()
	cs.stopWatch()
	if cs.cancelCfg != nil {
		cs.cancelCfg()
	}
	if cs.desc != unaryDesc {
		cs.reportStats(err) // unary calls report in invoke, after their last step
	}
	if cs.ci.trailer != nil {
		*cs.ci.trailer = nonNilMD(cs.trailer)
	}
	return err
}

// fail maps a transport error, preferring the context's reason.
func (cs *clientStream) fail(err error) error {
	if errors.Is(err, h2.ErrUnprocessed) {
		cs.unprocessed = true
	}
	if cerr := cs.ctx.Err(); cerr != nil {
		return cs.finishWith(status.FromContextError(cerr).Err())
	}
	// Servers reset with CANCEL when the deadline we sent them expires.
	return cs.finishWith(deadlineOverCanceled(cs.ctx, toStatusError(err)))
}

func (cs *clientStream) RecvMsg(m any) error {
	if !cs.finished && cs.canceled() {
		return cs.finishWith(status.FromContextError(cs.ctx.Err()).Err())
	}
	if err := cs.waitHeader(); err != nil {
		return err
	}
	if cs.finished {
		return cs.finalErr
	}
	msg, mb, err := cs.er.next()
	if err == nil {
		cs.recvN.Add(1)
		err = cs.codec.Unmarshal(msg, m)
		mb.release()
		if err != nil {
			cs.stream().Reset(h2.ErrCodeCancel)
			return cs.finishWith(status.Errorf(codes.Internal, "rpc: unmarshaling response: %v", err))
		}
		cs.evInPayload(m, len(msg))
		return nil
	}
	if err == io.EOF {
		return cs.finishWith(cs.statusFrom(cs.stream().Trailers()))
	}
	if _, ok := status.FromError(err); ok && cs.ctx.Err() == nil && status.Code(err) != codes.Unavailable {
		// A framing or size error of ours: tell the server we gave up.
		cs.stream().Reset(h2.ErrCodeCancel)
		return cs.finishWith(err)
	}
	return cs.fail(err)
}

// reportStats tells the StatsHandler, once, how the call went.
func (cs *clientStream) reportStats(err error) {
	h := cs.sh
	if h == nil || !cs.statsDone.CompareAndSwap(false, true) {
		return
	}
	s := &RPCStats{FullMethod: cs.method, Client: true, Begin: cs.begin, End: time.Now(),
		Code: codeOf(err), MsgsSent: int(cs.statSent.Load()), MsgsRecv: int(cs.recvN.Load())}
	s.fillFromStream(cs.stream())
	h.HandleRPC(cs.ctx, s)
}
