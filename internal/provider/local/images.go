package local

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeml/kubeml/internal/image"
)

// Image repositories of the images a local node gets without a registry.
const (
	KubemlRepo = "kubeml.local/kubeml"
	PauseRepo  = "kubeml.local/pause"
)

// binary returns the static kubeml binary to put into images.
func binary(path string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		path = exe
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("failed to read kubeml binary %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("kubeml binary %s is dynamically linked and cannot run in a container image: build it with CGO_ENABLED=0", path)
		}
	}
	return path, nil
}

// ensureRefs names the images after the binary's content.
func (im *images) ensureRefs(bin string) error {
	b, err := binary(bin)
	if err != nil {
		return err
	}
	tag, err := image.ContentTag(b)
	if err != nil {
		return err
	}
	im.Kubeml, im.Pause = KubemlRepo+":"+tag, PauseRepo+":"+tag
	return nil
}

// tarball returns a tarball of both images for `ctr images import`. It is
// cached by content (the refs name it), so only the first cluster made
// with a given kubeml binary pays for building it.
func (im images) tarball(bin string) (string, error) {
	b, err := binary(bin)
	if err != nil {
		return "", err
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeml", "images", strings.NewReplacer("/", "_", ":", "_").Replace(im.Kubeml)+".tar")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, image.WriteTarball(path,
		image.Spec{Ref: im.Kubeml, BinaryPath: b},
		image.Spec{Ref: im.Pause, BinaryPath: b, Entrypoint: []string{image.DefaultInImage, "pause"}},
	)
}
