package local

import (
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

// binary returns the kubeml binary to put into images, and the files it
// needs beside it (none for a static build; see runtimeFiles).
func binary(path string) (string, []image.File, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, err
		}
		path = exe
	}
	files, err := runtimeFiles(path, image.DefaultInImage)
	if err != nil {
		return "", nil, err
	}
	return path, files, nil
}

// ImageRef returns the ref of the kubeml image the local provider makes
// from the kubeml binary at bin (the running executable if empty).
func ImageRef(bin string) (string, error) {
	var im images
	if err := im.ensureRefs(bin); err != nil {
		return "", err
	}
	return im.Kubeml, nil
}

// ensureRefs names the images after the binary's content.
func (im *images) ensureRefs(bin string) error {
	b, files, err := binary(bin)
	if err != nil {
		return err
	}
	more := make([]string, len(files))
	for i, f := range files {
		more[i] = f.Src
	}
	tag, err := image.ContentTag(b, more...)
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
	b, files, err := binary(bin)
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
		image.Spec{Ref: im.Kubeml, BinaryPath: b, Files: files},
		image.Spec{Ref: im.Pause, BinaryPath: b, Files: files, Entrypoint: []string{image.DefaultInImage, "pause"}},
	)
}
