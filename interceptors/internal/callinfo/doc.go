// Package callinfo holds what the logging and metrics interceptors both
// need: method-name splitting, message sizes and streams that count.
package callinfo
