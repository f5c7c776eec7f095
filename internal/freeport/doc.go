// Package freeport finds TCP ports for test servers that start, or restart,
// a while after the port was found: ports the kernel never hands out on its
// own, so that nobody else's listener or connection takes them meanwhile.
package freeport
