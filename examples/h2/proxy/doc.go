// Command proxy is the CONNECT proxy of Node's http2 documentation, in Go:
// an HTTP/2 server (h2c on -addr, or TLS with -cert and -key) that answers
// each CONNECT request by opening a TCP connection to the request's
// :authority and piping bytes both ways between it and the stream.
//
// Anything but a plain CONNECT is refused with RST_STREAM(REFUSED_STREAM), a
// target that cannot be reached with RST_STREAM(CONNECT_ERROR). Each side's
// end is passed on: the client's END_STREAM half-closes the TCP connection,
// the target's EOF ends the stream.
//
// Try it with Node's client from the same documentation:
//
//	const client = http2.connect('http://127.0.0.1:8001');
//	const req = client.request({ ':method': 'CONNECT', ':authority': 'example.com:80' });
package main
