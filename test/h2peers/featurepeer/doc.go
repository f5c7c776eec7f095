// Command featurepeer exercises the parts of the h2 engine beyond plain
// requests (server push, and the extensions added beside it) against real
// peers, from both ends:
//
//	featurepeer -serve [-cert FILE -key FILE] [-pad none|max|aligned]
//	    serves them; prints "listening PORT". Node's http2 client
//	    (node_features_client.mjs) and nghttp run their checks against it.
//	featurepeer -client URL [-ca FILE]
//	    runs our client's checks against node_features_server.mjs and prints
//	    "ok NAME" or "FAIL NAME: why" per check; exits 1 if any failed.
//
// run.sh starts and stops it.
package main
