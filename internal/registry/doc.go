// Package registry is the one shape of h2rpc's "Register from init, Get by
// name" tables (resolvers by scheme, balancers by policy name): a map safe
// for concurrent use whose names are case-insensitive.
package registry
