// Command server is the browser test's page server: an http.Handler served
// through h2's net/http bridge over TLS with AllowHTTP1, so that one port
// serves Chromium over HTTP/2 and, with --disable-http2, over HTTP/1.1.
//
// Routes: "/" a page whose script fetches the others and writes what it got
// into the DOM (#result, JSON) and posts it to "/report", which prints it on
// stdout as a line "result JSON" for run.sh; "/proto" the protocol the
// request came in on; "/stream" a body sent in flushed chunks; "/files/" the
// files of -dir (Range requests).
package main
