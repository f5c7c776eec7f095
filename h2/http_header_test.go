package h2

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHeaderNamesAreLowercasedByAddSetDel(t *testing.T) {
	var h Header
	h.Add("Content-Type", "text/plain")
	h.Set("X-Trace", "1")
	h.Add("x-trace", "2")
	require.Equal(t, Header{{Name: "content-type", Value: "text/plain"}, {Name: "x-trace", Value: "1"}, {Name: "x-trace", Value: "2"}}, h)
	require.Equal(t, "text/plain", h.Get("CONTENT-TYPE"))
	require.Equal(t, []string{"1", "2"}, h.Values("X-Trace"))
	require.True(t, h.Has("X-TRACE"))
	h.Del("X-Trace")
	require.Equal(t, Header{{Name: "content-type", Value: "text/plain"}}, h)
	// What Add produced passes the send-side checks that would refuse "Content-Type".
	require.NoError(t, checkSend(h, kindTrailers))
}

func TestHeaderFromHTTPDropsConnectionSpecificFields(t *testing.T) {
	in := http.Header{
		"Content-Type":      {"application/json"},
		"Connection":        {"keep-alive, X-Hop"},
		"X-Hop":             {"gone"},
		"Keep-Alive":        {"timeout=5"},
		"Proxy-Connection":  {"keep-alive"},
		"Transfer-Encoding": {"chunked"},
		"Upgrade":           {"h2c"},
		"Te":                {"gzip"},
		"X-Multi":           {"a", "b"},
	}
	require.Equal(t, Header{
		{Name: "content-type", Value: "application/json"},
		{Name: "x-multi", Value: "a"},
		{Name: "x-multi", Value: "b"},
	}, HeaderFromHTTP(in))

	withTE := http.Header{"Te": {"trailers"}}
	require.Equal(t, Header{{Name: "te", Value: "trailers"}}, HeaderFromHTTP(withTE))
}

func TestAppendHTTPHeaderKeepsPseudoFieldsFirst(t *testing.T) {
	dst := Header{{Name: ":status", Value: "200"}}
	got := AppendHTTPHeader(dst, http.Header{"B": {"2"}, "A": {"1"}})
	require.Equal(t, Header{{Name: ":status", Value: "200"}, {Name: "a", Value: "1"}, {Name: "b", Value: "2"}}, got)
}

func TestHeaderHTTPCanonicalizesAndSkipsPseudoFields(t *testing.T) {
	h := Header{{Name: ":path", Value: "/"}, {Name: "content-type", Value: "a"}, {Name: "x-multi", Value: "1"}, {Name: "x-multi", Value: "2"}}
	require.Equal(t, http.Header{"Content-Type": {"a"}, "X-Multi": {"1", "2"}}, h.HTTP())
}
