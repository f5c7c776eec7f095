// Package validate rejects messages whose Validate() error method fails:
// on the server before the handler runs (INVALID_ARGUMENT to the client),
// on the client before a request leaves the process.
package validate
