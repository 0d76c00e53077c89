package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeFile writes data to a new file in a temp dir and returns its path.
func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// randomBytes returns n incompressible bytes, so that gzip cannot hide a
// duplicated layer in the size check.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

// layerEntries returns the tar entries of img's only layer.
func layerEntries(t *testing.T, img v1.Image) []entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("got %d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h, data})
	}
}

func TestBuild(t *testing.T) {
	content := []byte("#!not really a binary\x00\x01\x02")
	s := Spec{
		Ref:        "kubeml.local/kubeml:0123abcd",
		BinaryPath: writeFile(t, content),
		Cmd:        []string{"serve"},
		Env:        []string{"A=b"},
	}
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if !slices.Equal(c.Entrypoint, []string{"/kubeml"}) || !slices.Equal(c.Cmd, []string{"serve"}) ||
		!slices.Equal(c.Env, []string{"A=b"}) || c.WorkingDir != "/" {
		t.Errorf("config = %+v", c)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform = %s/%s", cfg.OS, cfg.Architecture)
	}
	if len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("diff ids = %v", cfg.RootFS.DiffIDs)
	}

	es := layerEntries(t, img)
	if len(es) != 1 {
		t.Fatalf("got %d entries, want 1", len(es))
	}
	h := es[0].hdr
	if h.Name != "kubeml" || h.Typeflag != tar.TypeReg || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 ||
		h.ModTime.Unix() != 0 {
		t.Errorf("header = %+v", h)
	}
	if !bytes.Equal(es[0].data, content) {
		t.Errorf("file content = %q, want %q", es[0].data, content)
	}

	// Deterministic: the same input gives the same digest.
	again, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s vs %s", d1, d2)
	}
}

func TestBuildNestedPath(t *testing.T) {
	img, err := Build(Spec{
		Ref:        "kubeml.local/kubeml:x",
		BinaryPath: writeFile(t, []byte("bin")),
		InImage:    "/usr/local/bin/kubeml",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range layerEntries(t, img) {
		if e.hdr.Mode != 0o755 || e.hdr.Uid != 0 || e.hdr.ModTime.Unix() != 0 {
			t.Errorf("header = %+v", e.hdr)
		}
		got = append(got, e.hdr.Name)
	}
	want := []string{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/kubeml"}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %v, want %v", got, want)
	}
	cfg, _ := img.ConfigFile()
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/kubeml"}) {
		t.Errorf("entrypoint = %v", cfg.Config.Entrypoint)
	}
}

func TestWriteTarball(t *testing.T) {
	content := randomBytes(1 << 20)
	bin := writeFile(t, content)
	kubeml := Spec{Ref: "kubeml.local/kubeml:0123abcd", BinaryPath: bin}
	pause := Spec{Ref: "kubeml.local/pause:0123abcd", BinaryPath: bin, Entrypoint: []string{"/kubeml", "pause"}}
	out := filepath.Join(t.TempDir(), "images.tar")
	if err := WriteTarball(out, kubeml, pause); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(len(content)) * 3 / 2; fi.Size() >= limit {
		t.Errorf("tarball is %d bytes, want < %d: shared layer stored twice?", fi.Size(), limit)
	}

	var layerDigests []v1.Hash
	for _, tc := range []struct {
		spec       Spec
		entrypoint []string
	}{{kubeml, []string{"/kubeml"}}, {pause, []string{"/kubeml", "pause"}}} {
		tag, err := name.NewTag(tc.spec.Ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, &tag)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		want, err := Build(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		gotM, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		wantM, _ := want.Manifest()
		if gotM.Config.Digest != wantM.Config.Digest || len(gotM.Layers) != 1 ||
			gotM.Layers[0].Digest != wantM.Layers[0].Digest {
			t.Errorf("%s: manifest = %+v, want %+v", tag, gotM, wantM)
		}
		layerDigests = append(layerDigests, gotM.Layers[0].Digest)
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.Config.Entrypoint, tc.entrypoint) {
			t.Errorf("%s: entrypoint = %v, want %v", tag, cfg.Config.Entrypoint, tc.entrypoint)
		}
		es := layerEntries(t, img)
		if len(es) != 1 || es[0].hdr.Name != "kubeml" || !bytes.Equal(es[0].data, content) {
			t.Errorf("%s: layer does not hold the binary at /kubeml", tag)
		}
	}
	if layerDigests[0] != layerDigests[1] {
		t.Errorf("layers differ: %v", layerDigests)
	}
}

func TestWriteTarballErrors(t *testing.T) {
	bin := writeFile(t, []byte("bin"))
	out := filepath.Join(t.TempDir(), "images.tar")
	err := WriteTarball(out,
		Spec{Ref: "kubeml.local/a:1", BinaryPath: bin},
		Spec{Ref: "kubeml.local/a:1", BinaryPath: bin},
		Spec{Ref: "kubeml.local/b:1", BinaryPath: filepath.Join(t.TempDir(), "missing")},
	)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"given twice", `"kubeml.local/b:1"`, "missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("tarball written despite errors: %v", err)
	}
	if err := WriteTarball(out); err == nil {
		t.Error("no error for no specs")
	}
}

func TestContentTag(t *testing.T) {
	a1, err := ContentTag(writeFile(t, []byte("binary one")))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := ContentTag(writeFile(t, []byte("binary one")))
	b, _ := ContentTag(writeFile(t, []byte("binary two")))
	if len(a1) != 12 || a1 != a2 || a1 == b {
		t.Errorf("tags: %q %q %q", a1, a2, b)
	}
	if _, err := name.NewTag("kubeml.local/kubeml:" + a1); err != nil {
		t.Errorf("tag %q is not a valid tag: %v", a1, err)
	}
	if _, err := ContentTag(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestBadSpec(t *testing.T) {
	_, err := Build(Spec{
		Ref:        "Not A Ref!",
		BinaryPath: filepath.Join(t.TempDir(), "missing"),
		InImage:    "relative/kubeml",
	})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{`failed to build image "Not A Ref!"`, "invalid ref", "unusable binary", "not absolute"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error does not wrap os.ErrNotExist: %v", err)
	}

	for _, s := range []Spec{
		{Ref: "kubeml.local/a:1"},                          // no binary
		{Ref: "kubeml.local/a:1", BinaryPath: t.TempDir()}, // a directory
		{Ref: "", BinaryPath: writeFile(t, []byte("x"))},   // no ref
		{Ref: "kubeml.local/a:1", BinaryPath: writeFile(t, []byte("x")), InImage: "/"},
	} {
		if _, err := Build(s); err == nil {
			t.Errorf("Build(%+v): no error", s)
		}
	}
}

// TestBuildWithFiles puts a dynamically linked binary's libraries beside
// it: every file at its path, directories once, and more files change the
// content tag.
func TestBuildWithFiles(t *testing.T) {
	bin, lib, ld := writeFile(t, []byte("bin")), writeFile(t, []byte("libc")), writeFile(t, []byte("ld.so"))
	img, err := Build(Spec{
		Ref:        "kubeml.local/kubeml:x",
		BinaryPath: bin,
		Files: []File{
			{Src: lib, InImage: "/lib/x86_64-linux-gnu/libc.so.6"},
			{Src: ld, InImage: "/lib64/ld-linux-x86-64.so.2"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range layerEntries(t, img) {
		got = append(got, e.hdr.Name+"="+string(e.data))
	}
	want := []string{"kubeml=bin", "lib/=", "lib/x86_64-linux-gnu/=", "lib/x86_64-linux-gnu/libc.so.6=libc", "lib64/=", "lib64/ld-linux-x86-64.so.2=ld.so"}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %v, want %v", got, want)
	}
	alone, _ := ContentTag(bin)
	with, _ := ContentTag(bin, lib, ld)
	other, _ := ContentTag(bin, ld, lib)
	if alone == with || with == other {
		t.Errorf("tags: alone %q, with files %q, files swapped %q", alone, with, other)
	}
	_, err = Build(Spec{Ref: "kubeml.local/kubeml:x", BinaryPath: bin, Files: []File{
		{Src: lib, InImage: "relative"}, {Src: ld, InImage: "/kubeml"}, {Src: filepath.Join(t.TempDir(), "missing"), InImage: "/x"}}})
	for _, want := range []string{`"relative"`, `"/kubeml" is given twice`, "unusable file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
