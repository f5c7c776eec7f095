// Package retry retries failed unary client calls on chosen status codes
// with exponential backoff and jitter, within the call's deadline. Only
// calls known to be idempotent are retried: a call that failed may still
// have had its effect on the server.
package retry
