package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultInImage is where the binary goes when Spec.InImage is empty.
const DefaultInImage = "/kubeml"

// epoch is the timestamp of every tar entry and of the image config, so that
// builds are reproducible.
var epoch = time.Unix(0, 0).UTC()

// Spec is an image made of one binary, static or with the files it needs
// to run.
type Spec struct {
	Ref        string   // e.g. "kubeml.local/kubeml:0123abcd"; must parse with name.NewTag
	BinaryPath string   // the file put into the image
	InImage    string   // path inside the image, default "/kubeml"
	Entrypoint []string // default []string{InImage}
	Cmd        []string
	Env        []string
	// Files are more files put into the same layer, such as the shared
	// libraries of a dynamically linked binary.
	Files []File
}

// File is one more file of an image: the file at Src (symbolic links
// followed) put at InImage (absolute) with mode 0755.
type File struct {
	Src, InImage string
}

// Build builds an image for linux/runtime.GOARCH with a single layer holding
// the binary at s.InImage (mode 0755, owned by root, parent directories
// included, zero timestamps) and a config with s's Entrypoint, Cmd and Env
// and WorkingDir "/".
func Build(s Spec) (v1.Image, error) {
	s, _, err := s.normalize()
	if err != nil {
		return nil, err
	}
	layer, err := s.layer()
	if err != nil {
		return nil, s.wrap(err)
	}
	return s.build(layer)
}

// normalize validates s, reporting every problem at once, and returns it with
// defaults filled in, along with its parsed tag.
func (s Spec) normalize() (Spec, name.Tag, error) {
	var errs []error
	tag, err := name.NewTag(s.Ref)
	if err != nil {
		errs = append(errs, fmt.Errorf("invalid ref: %w", err))
	}
	if s.BinaryPath == "" {
		errs = append(errs, errors.New("binary path is empty"))
	} else if err := checkReadable(s.BinaryPath); err != nil {
		errs = append(errs, fmt.Errorf("unusable binary: %w", err))
	}
	if s.InImage == "" {
		s.InImage = DefaultInImage
	}
	if !path.IsAbs(s.InImage) {
		errs = append(errs, fmt.Errorf("path in image %q is not absolute", s.InImage))
	} else if s.InImage = path.Clean(s.InImage); s.InImage == "/" {
		errs = append(errs, errors.New(`path in image is "/"`))
	}
	seen := map[string]bool{s.InImage: true}
	s.Files = slices.Clone(s.Files)
	for i, f := range s.Files {
		if err := checkReadable(f.Src); err != nil {
			errs = append(errs, fmt.Errorf("unusable file: %w", err))
		}
		if !path.IsAbs(f.InImage) || path.Clean(f.InImage) == "/" {
			errs = append(errs, fmt.Errorf("path in image %q of %s is not an absolute file path", f.InImage, f.Src))
			continue
		}
		s.Files[i].InImage = path.Clean(f.InImage)
		if seen[s.Files[i].InImage] {
			errs = append(errs, fmt.Errorf("path in image %q is given twice", f.InImage))
		}
		seen[s.Files[i].InImage] = true
	}
	if len(errs) > 0 {
		return s, tag, s.wrap(errors.Join(errs...))
	}
	if len(s.Entrypoint) == 0 {
		s.Entrypoint = []string{s.InImage}
	}
	return s, tag, nil
}

func (s Spec) wrap(err error) error {
	return fmt.Errorf("failed to build image %q: %w", s.Ref, err)
}

// layer builds the layer of a normalized s.
func (s Spec) layer() (v1.Layer, error) {
	files := append([]File{{Src: s.BinaryPath, InImage: s.InImage}}, s.Files...)
	return filesLayer(files)
}

// layerKey identifies the layer of a normalized s: specs with the same
// files share it.
func (s Spec) layerKey() string {
	var b strings.Builder
	b.WriteString(s.BinaryPath + "\x00" + s.InImage)
	for _, f := range s.Files {
		b.WriteString("\x00" + f.Src + "\x00" + f.InImage)
	}
	return b.String()
}

// build assembles the image of a normalized s around layer.
func (s Spec) build(layer v1.Layer) (v1.Image, error) {
	cfg := &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: slices.Clone(s.Entrypoint),
			Cmd:        slices.Clone(s.Cmd),
			Env:        slices.Clone(s.Env),
			WorkingDir: "/",
		},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, s.wrap(err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "kubeml: COPY " + path.Base(s.BinaryPath) + " " + s.InImage,
			Comment:   "built by kubeml internal/image",
		},
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return img, nil
}

func checkReadable(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return nil
}

// filesLayer returns a gzip-compressed layer holding each file at its
// InImage path (absolute and clean), parent directories first. The files
// are read once, so the layer stays consistent even if they change
// afterwards.
func filesLayer(files []File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f.Src)
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(f.InImage, "/")
		// Parent directories, outermost first: "usr/", "usr/local/", ...
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			dir := strings.Join(parts[:i], "/") + "/"
			if dirs[dir] {
				continue
			}
			dirs[dir] = true
			if err := tw.WriteHeader(header(dir, tar.TypeDir, 0o755, 0)); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(header(rel, tar.TypeReg, 0o755, int64(len(data)))); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerTar := buf.Bytes()
	opener := func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}
	// Cache the compressed form: it is needed for the digest and again when
	// the layer is written, and gzipping a large binary twice is slow. Fast
	// compression: the image never leaves the machine.
	return tarball.LayerFromOpener(opener, tarball.WithCompressedCaching, tarball.WithCompressionLevel(gzip.BestSpeed))
}

func header(name string, typ byte, mode, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		Uid:      0,
		Gid:      0,
		Uname:    "root",
		Gname:    "root",
		ModTime:  epoch,
	}
}
