//go:build !race

package fashion_test

const raceDetector = false
