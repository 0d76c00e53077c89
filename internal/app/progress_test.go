package app

import (
	"bytes"
	"os"
	"testing"
)

func TestCLIIsTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) || isTerminal(nil) {
		t.Error("a null device, a buffer or nil counted as a terminal")
	}
}
