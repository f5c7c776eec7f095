package rpc

import (
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/h2rpc/h2rpc/rpc/codes"
	"github.com/h2rpc/h2rpc/rpc/status"
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
	if hs.pw == nil { // a streamed request was reported as it started
		hs.evRequestSent(nil, nil) // net/http does not say on which connection
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
		return nil, status.Errorf(codes.Internal, "rpc: building the request: %v", err)
	}
	h := req.Header
	for _, f := range wr.header {
		if f.Name == "" || f.Name[0] == ':' {
			continue
		}
		k := canonicalName(f.Name)
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

// knownFields are the fields the protocols send and receive, by their
// lower-case and canonical names: converting them between h2's and
// net/http's spelling then costs no allocation (textproto's and
// strings.ToLower's would, for each field of each call).
var knownFields = func() map[string]string {
	names := []string{
		"user-agent", "content-type", "content-length", "content-encoding", "accept-encoding", "date", "server", "vary",
		"connect-protocol-version", "connect-timeout-ms", "connect-content-encoding", "connect-accept-encoding",
		"grpc-encoding", "grpc-accept-encoding", "grpc-timeout", "grpc-status", "grpc-message", "grpc-status-details-bin",
		"x-grpc-web", "access-control-allow-origin", "access-control-expose-headers",
	}
	m := make(map[string]string, 2*len(names))
	for _, n := range names {
		c := textproto.CanonicalMIMEHeaderKey(n)
		m[n], m[c] = c, n
	}
	return m
}()

// canonicalName is a lower-case field name as net/http spells it.
func canonicalName(name string) string {
	if c, ok := knownFields[name]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// lowerName is a net/http field name as h2 spells it, in lower case.
func lowerName(name string) string {
	if l, ok := knownFields[name]; ok && l[0] >= 'a' {
		return l
	}
	return strings.ToLower(name)
}
