package rpc

import (
	"bytes"
	"io"
	"net/http"
	"net/textproto"
)

// httpClientTransport carries the calls of a client made WithHTTPClient:
// each request becomes a net/http request for the user's client, and its
// response is read back into the protocols' terms.
type httpClientTransport struct{ hc *httpCaller }

func (t httpClientTransport) roundTrip(hs *httpStream, resp *webResponse) error {
	req, err := t.request(hs)
	if err != nil {
		return err
	}
	hr, err := t.hc.client.Do(req)
	if err != nil {
		return err
	}
	*resp = webResponse{code: hr.StatusCode, header: headerFromHTTP(hr.Header), http1: hr.ProtoMajor < 2, hr: hr}
	return nil
}

// request is hs.req as a net/http request: the URL from the pseudo-header
// fields, the other fields under their canonical names.
func (t httpClientTransport) request(hs *httpStream) (*http.Request, error) {
	wr := &hs.req
	req, err := http.NewRequestWithContext(hs.ctx, wr.header[webReqMethod].Value, t.hc.baseURL+wr.header[webReqPath].Value, nil)
	if err != nil {
		if wr.stream != nil {
			_ = wr.stream.Close()
		}
		return nil, err
	}
	h := req.Header
	for _, f := range wr.header {
		if f.Name == "" || f.Name[0] == ':' {
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(f.Name)
		h[k] = append(h[k], f.Value)
	}
	switch {
	case wr.stream != nil:
		req.Body = wr.stream
	case wr.header[webReqMethod].Value != http.MethodGet:
		b := wr.body
		if len(b) == 0 {
			req.Body = http.NoBody
			break
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return req, nil
}
