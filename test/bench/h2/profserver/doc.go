// Command profserver is examples/h2/server's "/" and "/echo" routes on the h2
// engine with a CPU profile written on SIGINT/SIGTERM, for profiling the
// engine under the benchmark's load (run.sh with PROFILE=1) without adding a
// profiling flag to the example.
package main
