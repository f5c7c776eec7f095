// Package ratelimit sheds load on the server with token buckets from
// golang.org/x/time/rate, one for the whole server (PerServer, or Shared
// with a rate.Limiter the application keeps) or one per method
// (PerMethod); calls over the limit fail at once with RESOURCE_EXHAUSTED
// instead of queueing.
package ratelimit
