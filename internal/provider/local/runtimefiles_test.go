package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntimeFilesOfADynamicBinary collects what /bin/ls needs in an empty
// image: its loader and libc at their paths here, nothing twice, and no
// ONNX Runtime (it is no ort build).
func TestRuntimeFilesOfADynamicBinary(t *testing.T) {
	if _, err := os.Stat("/bin/ls"); err != nil {
		t.Skip("no /bin/ls")
	}
	files, err := runtimeFiles("/bin/ls", "/kubeml")
	if err != nil {
		t.Fatal(err)
	}
	seen, real := map[string]bool{}, map[string]bool{}
	var interp, libc bool
	for _, f := range files {
		r, _ := filepath.EvalSymlinks(f.Src)
		if seen[f.InImage] || real[r] {
			t.Errorf("%s (%s) twice", f.InImage, r)
		}
		seen[f.InImage], real[r] = true, true
		interp = interp || strings.HasPrefix(f.InImage, "/lib64/ld-linux") || strings.HasPrefix(f.InImage, "/lib/ld-linux")
		libc = libc || strings.HasSuffix(f.InImage, "/libc.so.6")
		if strings.Contains(f.InImage, "onnxruntime") {
			t.Errorf("ONNX Runtime for a binary that is no ort build: %s", f.InImage)
		}
		if fi, err := os.Stat(f.Src); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: not a file: %v", f.Src, err)
		}
	}
	if !interp || !libc {
		t.Errorf("files %v lack the loader or libc", files)
	}
	if files, err := runtimeFiles(os.Args[0], "/kubeml"); err != nil {
		t.Errorf("the test binary itself: %v", err)
	} else {
		t.Logf("the test binary needs %d files", len(files))
	}
}
