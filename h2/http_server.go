package h2

import (
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
)

// HTTPHandler serves an http.Handler over HTTP/2 streams: Node's
// compatibility API, in Go's terms. Each stream becomes an *http.Request
// (Proto "HTTP/2.0", Host from :authority, canonical header names, a Body
// that reads the stream with flow-control backpressure, a context canceled
// on RST_STREAM, when the connection fails, or when the handler returns) and
// an http.ResponseWriter that also implements http.Flusher and the methods
// http.ResponseController looks for (FlushError, SetReadDeadline,
// SetWriteDeadline, EnableFullDuplex), and http.Pusher: a pushed target is
// promised to the client and served by the same handler.
//
// A panicking handler is logged through Server.ErrorLog; its stream is
// answered 500 when no headers went out, and reset with INTERNAL_ERROR
// otherwise. http.ErrAbortHandler resets the stream without a log line.
//
// As with net/http, the Request and ResponseWriter must not be used once
// the handler has returned: they are recycled for later streams.
func HTTPHandler(h http.Handler) Handler {
	return &httpHandler{h: h}
}

type httpHandler struct {
	h http.Handler
}

// httpExchange is one request and its response, pooled: a stream costs no
// allocation for them, nor for the header map and its value slices.
type httpExchange struct {
	req    http.Request
	url    url.URL
	header http.Header
	vals   []string
	body   httpBody
	rw     httpResponseWriter
	// handler serves this exchange, and the pushes its handler starts
	// (http_push.go), which it waits for before the stream is given back.
	handler *httpHandler
	pushes  httpPushes
}

var exchangePool = sync.Pool{New: func() any { return new(httpExchange) }}

func (a *httpHandler) ServeStream(st *Stream) {
	ex := exchangePool.Get().(*httpExchange)
	ex.handler = a
	if ex.fillRequest(st) {
		ex.rw.reset(ex, st, ex.req.Method == http.MethodHead)
		if a.serve(ex, st) {
			ex.rw.finish()
		}
	}
	ex.pushes.wg.Wait()
	ex.release()
	exchangePool.Put(ex)
}

// serve runs the handler; it reports false when a panic ended the stream.
func (a *httpHandler) serve(ex *httpExchange, st *Stream) (ok bool) {
	defer func() {
		if ok {
			return
		}
		r := recover()
		if r != http.ErrAbortHandler {
			if srv := st.s.srv; srv != nil {
				srv.logf("h2: panic serving %v %s %s: %v\n%s", ex.req.RemoteAddr, ex.req.Method, ex.req.RequestURI, r, debug.Stack())
			}
			if !ex.rw.sent {
				ex.rw.sent = true
				_ = st.Respond(Header{{Name: ":status", Value: "500"}, {Name: "content-length", Value: "0"}}, &RespondOptions{EndStream: true})
				return
			}
		}
		st.Reset(ErrCodeInternal)
	}()
	a.h.ServeHTTP(&ex.rw, &ex.req)
	return true
}

// release drops what the exchange must not keep alive between streams,
// keeping the buffers and the maps for the next one.
func (ex *httpExchange) release() {
	ex.req = http.Request{}
	ex.body = httpBody{}
	clear(ex.header)
	clear(ex.rw.handlerHeader)
	clear(ex.vals[:cap(ex.vals)])
	ex.rw.ex, ex.rw.st, ex.rw.hdr = nil, nil, nil
	ex.handler = nil
	clear(ex.rw.trailerNames[:cap(ex.rw.trailerNames)])
}

// httpHandler returns the bridge to srv.HTTP, made once per server.
func (srv *Server) httpHandler() Handler {
	srv.httpOnce.Do(func() { srv.httpBridge = HTTPHandler(srv.HTTP) })
	return srv.httpBridge
}
