package rpc

import (
	"strconv"
	"time"

	"github.com/h2rpc/h2rpc/h2"
)

// How a call starts: on our engine, serveStream is the h2 handler (one call
// per HTTP/2 stream); over net/http, ServeHTTP (server_http.go). Both pick
// the protocol and run the call with serveCall.

// serveStream is the h2 handler: one call per HTTP/2 stream.
func (s *Server) serveStream(st *h2.Stream) {
	req := st.Header()
	p, ce, refuse := protocolFor(req.Get(":method"), req.Get("content-type"))
	if refuse != 0 {
		refuseRequest(st, refuse)
		return
	}
	ss := &serverStream{srv: s, tr: h2Transport{st}, proto: p, codec: ce}
	ss.er = envelopeReader{r: st, maxSize: s.opts.maxRecv}
	cs := s.connState(st.Session())
	ss.conn = cs
	if cs != nil {
		cs.streamStarted()
		defer cs.streamEnded()
	}
	s.serveCall(ss, req)
}

// refuseRequest answers a request that names no protocol of ours (or a codec
// we lack) with a bare HTTP status: the specs ask for 415 so that the client
// sees a plain HTTP error instead of a body it would misread (decoding an
// unknown codec as protobuf would be garbage). grpc-go still falls back to
// protobuf for an unknown gRPC subtype, with a warning that this will fail
// one day.
func refuseRequest(st *h2.Stream, code int) {
	if code == 405 {
		_ = st.Respond(h2.Header{{Name: ":status", Value: "405"}, {Name: "allow", Value: "POST"}}, &h2.RespondOptions{EndStream: true})
		return
	}
	_ = st.Respond(h2.Header{{Name: ":status", Value: strconv.Itoa(code)}}, &h2.RespondOptions{EndStream: true})
}

// serveCall runs one call whatever its transport and protocol: setup,
// the handler, the status, the stats report.
func (s *Server) serveCall(ss *serverStream, req h2.Header) {
	err := ss.setup(req)
	var begin time.Time
	if h := s.opts.stats; h != nil {
		begin = time.Now()
		ss.ctx = h.TagRPC(ss.ctx, methodPath(req))
		ss.evBegin()
	}
	if err == nil {
		err = ss.run()
	}
	code := ss.finish(err)
	ss.evOutTrailer(code)
	if h := s.opts.stats; h != nil {
		path := methodPath(req)
		rs := &RPCStats{FullMethod: path, Begin: begin, Code: code, MsgsSent: ss.sentN, MsgsRecv: ss.recvd,
			UnknownMethod: s.methods[path] == nil}
		ctx := ss.ctx
		st := ss.h2Stream()
		report := func() {
			rs.End = time.Now()
			rs.fillFromStream(st)
			h.HandleRPC(ctx, rs)
		}
		// The writer frames the status after we return: the figures are
		// complete once the stream has closed, normally a moment later.
		// Over net/http the response is complete when the handler returns.
		if st == nil {
			report()
		} else {
			select {
			case <-st.Done():
				report()
			default:
				go func() {
					<-st.Done()
					report()
				}()
			}
		}
	}
	ss.cancel()
	// A request body left unread (say, the rest of a message refused for its
	// size) is h2's business: it drops what still arrives and credits the
	// windows, so the client finishes sending and sees the status while this
	// goroutine and the call's slot are already free.
}
