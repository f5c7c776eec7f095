// Command httpbridge serves one trivial http.Handler over h2c, either through
// h2rpc's engine (the net/http bridge, h2.Server{HTTP: h}) or on net/http's
// own HTTP/2 server (http.Server with unencrypted HTTP/2 allowed), for
// run_bridge.sh to compare with h2load.
package main
