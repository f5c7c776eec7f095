// Package auth authenticates calls on the server (bearer tokens, API keys,
// verified TLS client certificates) and authorizes them per method; the
// caller's Identity reaches the handler through the context. Failures are
// UNAUTHENTICATED (no or bad credentials) or PERMISSION_DENIED (known
// caller, not allowed). Client interceptors attach tokens and keys.
package auth
