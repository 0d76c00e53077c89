package local

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeml/kubeml/internal/image"
	"github.com/kubeml/kubeml/internal/kubeobj"
)

// Image repositories of the images a local node gets without a registry.
const (
	KubemlRepo = kubeobj.LocalRegistry + "/kubeml"
	PauseRepo  = kubeobj.LocalRegistry + "/pause"
)

// NodeBinaryName is the lean in-cluster kubeml binary (cmd/kubeml-node).
const NodeBinaryName = "kubeml-node"

// binary returns the binary to put into images and the files it needs
// beside it (none for a static build; see runtimeFiles): kubeml-node when
// it lies beside the kubeml binary at path (the running executable if
// empty) and was built from the same source with the same settings, else
// that kubeml binary itself.
func binary(path string) (string, []image.File, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, err
		}
		path = exe
	}
	if node := filepath.Join(filepath.Dir(path), NodeBinaryName); node != path && sameBuild(path, node) {
		path = node
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

// TarballPath is where the tarball of the kubeml image ref (and its pause
// image) is cached.
func TarballPath(ref string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kubeml", "images", strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".tar"), nil
}

// tarball returns a tarball of both images for `ctr images import`. It is
// cached by content (the refs name it), so only the first cluster made
// with a given kubeml binary pays for building it.
func (im images) tarball(bin string) (string, error) {
	b, files, err := binary(bin)
	if err != nil {
		return "", err
	}
	path, err := TarballPath(im.Kubeml)
	if err != nil {
		return "", err
	}
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

// sameBuild reports whether the Go binaries at a and b were built by the
// same toolchain from the same module, revision and build settings, so
// that a kubeml-node left from an older build is not put into images.
func sameBuild(a, b string) bool {
	ia, err := buildinfo.ReadFile(a)
	if err != nil {
		return false
	}
	ib, err := buildinfo.ReadFile(b)
	if err != nil {
		return false
	}
	if ia.GoVersion != ib.GoVersion || ia.Main.Path != ib.Main.Path || ia.Main.Version != ib.Main.Version {
		return false
	}
	settings := func(bi *buildinfo.BuildInfo) map[string]string {
		m := map[string]string{}
		for _, s := range bi.Settings {
			m[s.Key] = s.Value
		}
		return m
	}
	sa, sb := settings(ia), settings(ib)
	for _, k := range []string{"vcs.revision", "vcs.time", "vcs.modified", "-tags", "CGO_ENABLED", "GOARCH", "GOOS", "-ldflags"} {
		if sa[k] != sb[k] {
			return false
		}
	}
	return true
}
