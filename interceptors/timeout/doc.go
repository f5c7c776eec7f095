// Package timeout gives calls without a deadline a default one, on the
// server (so a client that sets none cannot hold a handler forever) and on
// the client (so no call waits forever on a silent server).
package timeout
