// Package orca encodes and decodes the load reports servers attach to
// responses for client-side load balancing (ORCA, xds.data.orca.v3.OrcaLoadReport,
// in the endpoint-load-metrics-bin trailer). The weighted_round_robin
// balancer reads them; a server sends one per call with
// rpc.SetTrailer(ctx, orca.Trailer(report)).
package orca
