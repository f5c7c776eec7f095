package h2

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHTTPResponseSmallBody(t *testing.T) {
	goroutineLeakCheck(t)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answer", "42")
		_, _ = io.WriteString(w, "<html><body>hi</body></html>")
	}))
	res, err := client.Get(base + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "<html><body>hi</body></html>", string(b))
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, "HTTP/2.0", res.Proto)
	require.Equal(t, int64(len(b)), res.ContentLength, "the length of a body held whole is sent")
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"), "sniffed")
	require.Equal(t, "42", res.Header.Get("X-Answer"))
	_, err = http.ParseTime(res.Header.Get("Date"))
	require.NoError(t, err)
}

func TestHTTPResponseStatusAndSnapshot(t *testing.T) {
	goroutineLeakCheck(t)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header()["Date"] = nil // suppressed, as net/http allows
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusTeapot) // superfluous: ignored
		w.Header().Set("X-Late", "after WriteHeader")
		_, _ = io.WriteString(w, "{}")
	}))
	res, err := client.Get(base + "/")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusCreated, res.StatusCode)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	require.Empty(t, res.Header.Values("Date"))
	require.Empty(t, res.Header.Values("X-Late"), "the map is copied at WriteHeader")
	require.Empty(t, res.Header.Values("Connection"), "connection-specific fields are dropped")
}

func TestHTTPResponseStreamsAfterFlush(t *testing.T) {
	goroutineLeakCheck(t)
	next := make(chan struct{})
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "chunk %d\n", i)
			w.(http.Flusher).Flush()
			<-next // the client must have the chunk before the next is written
		}
	}))
	res, err := client.Get(base + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, int64(-1), res.ContentLength)
	br := bufio.NewReader(res.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("chunk %d\n", i), line)
		next <- struct{}{}
	}
	_, err = br.ReadByte()
	require.ErrorIs(t, err, io.EOF)
}

func TestHTTPResponseLargeBody(t *testing.T) {
	goroutineLeakCheck(t)
	body := strings.Repeat("0123456789", 100_000)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(body); i += 3000 {
			_, _ = io.WriteString(w, body[i:min(i+3000, len(body))])
		}
	}))
	res, err := client.Get(base + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, body, string(b))
	require.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
}

func TestHTTPResponseTrailers(t *testing.T) {
	goroutineLeakCheck(t)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
	}))
	res, err := client.Get(base + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, "body", string(b))
	require.Equal(t, "d", res.Trailer.Get("X-Declared"))
	require.Equal(t, "u", res.Trailer.Get("X-Undeclared"))
	require.Empty(t, res.Header.Get("X-Declared"))
}

func TestHTTPResponseEarlyHints(t *testing.T) {
	goroutineLeakCheck(t)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "final")
	}))
	var got []int
	var links []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, code)
		links = append(links, h.Get("Link"))
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctxT(t), trace), "GET", base+"/", nil)
	require.NoError(t, err)
	res, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, []int{103}, got)
	require.Equal(t, []string{"</style.css>; rel=preload; as=style"}, links)
	require.Equal(t, 200, res.StatusCode)
}

func TestHTTPResponseContentLengthChecked(t *testing.T) {
	goroutineLeakCheck(t)
	writeErr := make(chan error, 1)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		if r.URL.Path == "/long" {
			_, err := io.WriteString(w, "123456")
			writeErr <- err
			_, _ = io.WriteString(w, "12345")
			return
		}
		_, _ = io.WriteString(w, "123") // short: the client must not see a complete body
	}))
	res, err := client.Get(base + "/long")
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.ErrorIs(t, <-writeErr, http.ErrContentLength)
	require.Equal(t, "12345", string(b))

	res, err = client.Get(base + "/short")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
	}
	require.Error(t, err, "a body shorter than its Content-Length ends in a reset")
}

func TestHTTPResponseNoBodyStatusesAndHEAD(t *testing.T) {
	goroutineLeakCheck(t)
	writeErr := make(chan error, 1)
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
			_, err := io.WriteString(w, "x")
			writeErr <- err
			return
		}
		_, _ = io.WriteString(w, "a body HEAD does not get")
	}))
	res, err := client.Get(base + "/204")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.ErrorIs(t, <-writeErr, http.ErrBodyNotAllowed)

	res, err = client.Head(base + "/")
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Empty(t, b)
	require.Equal(t, int64(len("a body HEAD does not get")), res.ContentLength)
}

// http.FileServer and http.ServeContent work unchanged: Range requests,
// stat-based headers, conditional requests (Node's respondWithFile).
func TestHTTPServeContent(t *testing.T) {
	goroutineLeakCheck(t)
	dir := t.TempDir()
	content := strings.Repeat("abcdefghij", 1000)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte(content), 0o600))
	base, client, _ := newHTTPBridge(t, http.FileServer(http.Dir(dir)))

	req, _ := http.NewRequest("GET", base+"/f.txt", nil)
	req.Header.Set("Range", "bytes=10-19")
	res, err := client.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusPartialContent, res.StatusCode)
	require.Equal(t, content[10:20], string(b))
	require.Equal(t, "bytes 10-19/10000", res.Header.Get("Content-Range"))
	require.Equal(t, "bytes", res.Header.Get("Accept-Ranges"))
	lastMod := res.Header.Get("Last-Modified")
	require.NotEmpty(t, lastMod)

	res, err = client.Get(base + "/f.txt")
	require.NoError(t, err)
	b, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, content, string(b))
	require.Equal(t, int64(len(content)), res.ContentLength)

	req, _ = http.NewRequest("GET", base+"/f.txt", nil)
	req.Header.Set("If-Modified-Since", lastMod)
	res, err = client.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusNotModified, res.StatusCode)
}

func TestHTTPWriteDeadline(t *testing.T) {
	goroutineLeakCheck(t)
	writeErr := make(chan error, 1)
	addr := newTestServer(t, &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		require.NoError(t, rc.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	})})
	c := dialTest(t, addr, nil)
	st, err := c.Request(ctxT(t), Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}, &RequestOptions{EndStream: true})
	require.NoError(t, err)
	_, err = st.Response(ctxT(t))
	require.NoError(t, err)
	// The client reads nothing: the handler's writes block until the deadline.
	require.True(t, errors.Is(<-writeErr, os.ErrDeadlineExceeded))
}

func TestHTTPResponseControllerFlush(t *testing.T) {
	goroutineLeakCheck(t)
	flushed := make(chan struct{})
	base, client, _ := newHTTPBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Early", "yes")
		require.NoError(t, http.NewResponseController(w).Flush())
		<-flushed // the client has the headers without any body
	}))
	res, err := client.Get(base + "/")
	require.NoError(t, err)
	require.Equal(t, "yes", res.Header.Get("X-Early"))
	close(flushed)
	require.NoError(t, res.Body.Close())
}
