package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteTarball builds every spec and writes all the images into ONE
// docker-archive tarball at path, tagged with their refs, so a single
// `ctr images import` loads them all. Identical layers (such as one binary
// shared by several images) are stored once. The file is written to
// path+".tmp" and renamed into place, so path is either absent, the old file,
// or complete.
func WriteTarball(path string, specs ...Spec) error {
	if len(specs) == 0 {
		return fmt.Errorf("failed to write image tarball %s: no images given", path)
	}
	var errs []error
	norm := make([]Spec, 0, len(specs))
	tags := make([]name.Tag, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		n, tag, err := s.normalize()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[tag.Name()] {
			errs = append(errs, s.wrap(fmt.Errorf("ref %s given twice", tag.Name())))
			continue
		}
		seen[tag.Name()] = true
		norm, tags = append(norm, n), append(tags, tag)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Build each distinct layer once: specs sharing a binary and a path in
	// the image share the layer object, saving a read and a gzip.
	layers := map[string]v1.Layer{}
	refs := make(map[name.Reference]v1.Image, len(norm))
	for i, s := range norm {
		k := s.layerKey()
		if layers[k] == nil {
			l, err := s.layer()
			if err != nil {
				return s.wrap(err)
			}
			layers[k] = l
		}
		img, err := s.build(layers[k])
		if err != nil {
			return err
		}
		refs[tags[i]] = img
	}
	if err := writeAtomically(path, func(w io.Writer) error {
		return tarball.MultiRefWrite(refs, w)
	}); err != nil {
		return fmt.Errorf("failed to write image tarball %s: %w", path, err)
	}
	return nil
}

// writeAtomically writes a temporary file beside path with write, syncs
// it and renames it to path, so concurrent writers never mix their bytes.
// On failure the temporary file is removed.
func writeAtomically(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ContentTag returns a tag derived from the contents of the file at path
// and of more files, if given (a dynamically linked binary's libraries):
// the first 12 hex characters of a sha256 over them. Images built from a
// different binary thus get a different tag.
func ContentTag(path string, more ...string) (string, error) {
	h := sha256.New()
	for i, p := range append([]string{path}, more...) {
		if err := hashFile(h, p, i > 0); err != nil {
			return "", fmt.Errorf("failed to compute content tag of %s: %w", path, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// hashFile adds the file at p to h, after a separator unless first (so
// that a single file hashes as before).
func hashFile(h io.Writer, p string, sep bool) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if sep {
		fmt.Fprintf(h, "\x00%s\x00", p)
	}
	_, err = io.Copy(h, f)
	return err
}
