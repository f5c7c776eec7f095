package h2

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// http.Pusher on the bridge: a handler that calls Push(target, opts) has
// target promised to the client and served by the same http.Handler, as if
// the client had asked for it, on a goroutine of its own (as net/http's
// HTTP/2 server does). The parent's stream ends when its handler returns,
// but its ServeStream waits for those goroutines: h2 resets a push left
// unanswered once the parent's handler is done.

// httpPushes counts the pushes an exchange started.
type httpPushes struct {
	wg sync.WaitGroup
}

var _ http.Pusher = (*httpResponseWriter)(nil)

// Push implements http.Pusher. target is a path ("/style.css") or an
// absolute URL of this request's scheme and authority; opts may set
// Method (GET, the default, or HEAD) and Header (request fields of the
// promised request). It returns http.ErrNotSupported when the client
// disabled push or has no room for another pushed stream.
func (w *httpResponseWriter) Push(target string, opts *http.PushOptions) error {
	if w.ex == nil || w.ex.handler == nil {
		return http.ErrNotSupported
	}
	method := http.MethodGet
	var extra http.Header
	if opts != nil {
		if opts.Method != "" {
			method = opts.Method
		}
		extra = opts.Header
	}
	if method != http.MethodGet && method != http.MethodHead {
		return fmt.Errorf("h2: push method %q: only GET and HEAD can be pushed", method)
	}
	path, err := w.pushPath(target)
	if err != nil {
		return err
	}
	hdr := Header{{Name: ":method", Value: method}, {Name: ":path", Value: path}}
	hdr = AppendHTTPHeader(hdr, extra)
	pushed, err := w.st.Push(hdr)
	switch {
	case errors.Is(err, ErrPushDisabled), errors.Is(err, ErrPushLimit):
		return http.ErrNotSupported
	case err != nil:
		return err
	}
	h := w.ex.handler
	w.ex.pushes.wg.Add(1)
	go func() {
		defer w.ex.pushes.wg.Done()
		h.ServeStream(pushed)
	}()
	return nil
}

// pushPath checks target and returns the :path to promise.
func (w *httpResponseWriter) pushPath(target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		return target, nil
	}
	r := &w.ex.req
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	prefix := scheme + "://" + r.Host + "/"
	if r.Host == "" || !strings.HasPrefix(target, prefix) {
		return "", fmt.Errorf("h2: push target %q: a path or a URL of %s", target, strings.TrimSuffix(prefix, "/"))
	}
	return target[len(prefix)-1:], nil
}
