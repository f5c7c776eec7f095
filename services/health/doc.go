// Package health implements grpc.health.v1.Health (Check, Watch, List) with
// statuses the application sets per service; when the server begins to shut
// down every service reports NOT_SERVING, so load balancers drain it first.
package health
