// Package ratelimit sheds load on the server with token buckets, one for the
// whole server or one per method; calls over the limit fail at once with
// RESOURCE_EXHAUSTED instead of queueing.
package ratelimit
