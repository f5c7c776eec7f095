package h2

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"sync/atomic"
)

// errReadOnClosedBody is net/http's answer to a Read after Close.
var errReadOnClosedBody = errors.New("http: read on closed response body")

// responseBody is a Response.Body that reads straight from the stream. At
// io.EOF it fills Response.Trailer; closing it before then resets the stream
// with CANCEL.
type responseBody struct {
	ex       *exchange
	finished atomic.Bool // EOF, an error or Close: the response side is done
	closed   atomic.Bool
}

func (b *responseBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errReadOnClosedBody
	}
	ex := b.ex
	if ex.stopCtx != nil && ex.ctx.Err() != nil {
		// Canceled: even what is already buffered is not delivered, as
		// with net/http, so a caller never mistakes a canceled body for a
		// complete one.
		ex.st.Reset(ErrCodeCancel)
		if b.finished.CompareAndSwap(false, true) {
			ex.finish()
		}
		return 0, ex.mapErr(ex.ctx.Err())
	}
	n, err := ex.st.Read(p)
	switch {
	case err == io.EOF:
		if b.finished.CompareAndSwap(false, true) {
			b.atEOF()
			ex.finish()
		}
	case err != nil:
		err = ex.mapErr(err)
		if b.finished.CompareAndSwap(false, true) {
			ex.finish()
		}
	}
	return n, err
}

// atEOF fills the response trailers and, when the request body is still
// being sent (or was never sent, the server having answered an
// "Expect: 100-continue" without asking for it), abandons it: the exchange is
// over once the whole response is in.
func (b *responseBody) atEOF() {
	ex := b.ex
	if tr := ex.st.Trailers(); len(tr) > 0 {
		res := ex.res
		if res.Trailer == nil {
			res.Trailer = make(http.Header, len(tr))
		}
		for _, f := range tr {
			name := textproto.CanonicalMIMEHeaderKey(f.Name)
			res.Trailer[name] = append(res.Trailer[name], f.Value)
		}
	}
	if ex.body != nil && !ex.writerDone.Load() {
		ex.st.Reset(ErrCodeCancel)
		ex.closeBody()
	}
}

// Close resets the stream with CANCEL unless the response has ended.
func (b *responseBody) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	if b.finished.CompareAndSwap(false, true) {
		ex := b.ex
		ex.st.Reset(ErrCodeCancel) // on a stream ended both ways: sends nothing, gives back what is unread
		ex.closeBody()
		ex.finish()
	}
	return nil
}
