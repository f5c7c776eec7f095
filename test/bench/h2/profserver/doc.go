// Command profserver is examples/h2/server's "/" and "/echo" routes on the h2
// engine, with CPU (-cpuprofile) and allocation (-memprofile) profiles written
// on SIGINT/SIGTERM: it profiles the engine under the benchmark's load
// (run.sh with PROFILE=1) without adding profiling flags to the example.
package main
