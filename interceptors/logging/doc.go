// Package logging writes one structured log/slog record per RPC, on the
// server or the client, with the method, status code, duration, peer and
// message sizes.
package logging
