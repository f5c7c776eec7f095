// Package leakcheck fails a test binary whose tests leave goroutines behind;
// the interceptor and service packages use it from their TestMain.
package leakcheck
