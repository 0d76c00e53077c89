//go:build race

package fashion_test

// raceDetector slows training about 30 times: tests train less under it.
const raceDetector = true
