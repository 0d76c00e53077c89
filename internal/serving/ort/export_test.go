//go:build ort

package ort

// Init loads the library and creates ORT's environment, as Load does first.
func Init() error { return initialize() }
