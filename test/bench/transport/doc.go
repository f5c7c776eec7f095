// Command transport benchmarks h2.Transport against net/http's own HTTP/2
// transport (http.Transport with unencrypted HTTP/2 only), fetching 1 KiB and
// 1 MiB bodies at concurrency 1 and 64 from one server, the two clients taking
// turns. With -serve it is that server instead: our engine over h2c, in its
// own process so that the clients do not share their CPU time with it.
// run.sh builds and runs both halves.
package main
