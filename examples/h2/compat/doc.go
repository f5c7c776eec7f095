// Command compat is Node's HTTP/2 compatibility example in Go: a plain
// net/http handler served over h2rpc's HTTP/2 engine, with HTTP/1.1 clients
// answered on the same port (Node's allowHTTP1), over TLS with -cert and
// -key, or in cleartext (HTTP/2 with prior knowledge, HTTP/1.1 otherwise).
//
// Routes:
//
//	/          JSON naming the protocol the request came in on, like Node's
//	           example: {"alpnProtocol": "h2", "httpVersion": "2.0"}
//	/echo      streams the request body back, then the trailer X-Echo-Bytes
//	/files/    the files of -dir (http.FileServer: Range, If-Modified-Since)
//
// Run it and try:
//
//	go run ./examples/h2/compat -addr 127.0.0.1:8080
//	curl --http2-prior-knowledge http://127.0.0.1:8080/
//	curl --http1.1 http://127.0.0.1:8080/
package main
