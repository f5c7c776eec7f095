// Package retry retries failed unary client calls on chosen status codes
// with exponential backoff and jitter, within the call's deadline. Only
// calls known to be idempotent are retried: a call that failed may still
// have had its effect on the server.
//
// The client now retries by itself as gRFC A6 describes, configured per
// method in the service config (rpc.WithDefaultServiceConfig or the
// resolver's: retryPolicy, retryThrottling, server pushback, streaming calls
// replayed until committed); prefer it for new code. This interceptor stays
// for what the service config cannot say: a timeout per attempt, and
// idempotency marked per call (WithIdempotent). Do not configure both for one
// method: their attempts multiply.
package retry
