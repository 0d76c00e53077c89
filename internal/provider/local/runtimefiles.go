package local

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/kubeml/kubeml/internal/image"
	"github.com/kubeml/kubeml/internal/serving"
)

// libDirs are where a node's shared libraries are looked up, in the
// dynamic loader's order; glibc's loader searches them in an image with no
// ld.so.cache too.
func libDirs() []string {
	arch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	return []string{"/lib/" + arch, "/usr/lib/" + arch, "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
}

// runtimeFiles returns what the kubeml binary at bin needs beside it in an
// otherwise empty image: nothing for a static binary; for a dynamically
// linked one (a cgo build, such as one with the ort build tag) its ELF
// interpreter and the shared libraries it and they need, from this
// machine, at the paths they have here; for an ort build also ONNX
// Runtime's library (see serving.ORTLibraryEnv), put beside the binary at
// inImage's directory, and the libraries that one needs.
func runtimeFiles(bin, inImage string) ([]image.File, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("failed to read kubeml binary %s: %w", bin, err)
	}
	defer f.Close()
	interp, err := interpreter(f)
	if err != nil || interp == "" {
		return nil, err
	}
	files := []image.File{{Src: interp, InImage: interp}}
	queue, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("failed to read the libraries kubeml binary %s needs: %w", bin, err)
	}
	if ortBuild(bin) {
		lib, err := ortLibrary(bin)
		if err != nil {
			return nil, err
		}
		files = append(files, image.File{Src: lib, InImage: path.Join(path.Dir(inImage), serving.ORTLibraryName)})
		more, err := neededBy(lib)
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		found := ""
		for _, dir := range libDirs() {
			if p := filepath.Join(dir, name); isFile(p) {
				found = p
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("kubeml binary %s needs %s, which is in none of %s", bin, name, strings.Join(libDirs(), ", "))
		}
		if !samePath(found, interp) {
			files = append(files, image.File{Src: found, InImage: found})
		}
		more, err := neededBy(found)
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	return files, nil
}

// interpreter returns the ELF interpreter a binary names, "" for a static
// binary.
func interpreter(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return "", fmt.Errorf("failed to read the ELF interpreter: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}

// neededBy lists the libraries a shared object names (DT_NEEDED).
func neededBy(lib string) ([]string, error) {
	f, err := elf.Open(lib)
	if err != nil {
		return nil, fmt.Errorf("failed to read shared library %s: %w", lib, err)
	}
	defer f.Close()
	names, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("failed to read the libraries %s needs: %w", lib, err)
	}
	return names, nil
}

// ortBuild reports whether bin is a kubeml built with the ort build tag.
func ortBuild(bin string) bool {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "ort") {
			return true
		}
	}
	return false
}

// ortLibrary finds ONNX Runtime's library for an ort build at bin: from
// $KUBEML_ORT_LIB, else beside bin.
func ortLibrary(bin string) (string, error) {
	if p := os.Getenv(serving.ORTLibraryEnv); p != "" {
		if !isFile(p) {
			return "", fmt.Errorf("%s=%s is not a file", serving.ORTLibraryEnv, p)
		}
		return p, nil
	}
	if p := filepath.Join(filepath.Dir(bin), serving.ORTLibraryName); isFile(p) {
		return p, nil
	}
	return "", fmt.Errorf("kubeml binary %s is built with the ort tag, but %s is not beside it and %s is not set (.ci/fetch-ort prints a path for it)",
		bin, serving.ORTLibraryName, serving.ORTLibraryEnv)
}

// samePath reports whether a and b name the same file once symbolic
// links are followed (libc names the loader by another path than the
// binary's PT_INTERP).
func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return a == b || (err1 == nil && err2 == nil && ra == rb)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
