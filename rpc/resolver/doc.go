// Package resolver turns a client's target into addresses. A Builder,
// chosen by the target's scheme, makes a Resolver that pushes State updates
// (addresses and, optionally, a service config) to the client, which asks it
// to look again (ResolveNow) when a connection drops or is told to go away.
// Built in: passthrough, dns, unix, and Manual for tests; other resolvers
// (a registry such as etcd, xDS) are written against this API from outside.
package resolver
