//go:build !race

package h2

// raceDetector: see http_race_test.go.
const raceDetector = false
