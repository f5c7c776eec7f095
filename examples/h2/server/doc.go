// Command server is the h2 example server: h2c on -addr, or TLS with -cert and -key.
//
// Routes: "/" answers 200 with a short text body to any method; "/echo"
// streams the request body back and ends with the trailer
// "x-echo-bytes: <bytes echoed>".
package main
