//go:build race

package h2

// raceDetector: sync.Pool drops a quarter of what is put back under the race
// detector, so pooled objects are sometimes allocated anew.
const raceDetector = true
