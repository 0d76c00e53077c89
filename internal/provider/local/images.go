package local

import (
	"debug/elf"
	"fmt"
	"os"

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

// ensureRefs names the images after the binary's content; the pause image
// keeps its first name, since containerd's sandbox_image refers to it.
func (im *images) ensureRefs(bin string) error {
	b, err := binary(bin)
	if err != nil {
		return err
	}
	tag, err := image.ContentTag(b)
	if err != nil {
		return err
	}
	im.Kubeml = KubemlRepo + ":" + tag
	if im.Pause == "" {
		im.Pause = PauseRepo + ":" + tag
	}
	return nil
}

// write writes both images into one tarball for `ctr images import`.
func (im images) write(path, bin string) error {
	b, err := binary(bin)
	if err != nil {
		return err
	}
	return image.WriteTarball(path,
		image.Spec{Ref: im.Kubeml, BinaryPath: b},
		image.Spec{Ref: im.Pause, BinaryPath: b, Entrypoint: []string{image.DefaultInImage, "pause"}},
	)
}
