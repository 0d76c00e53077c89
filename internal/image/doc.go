// Package image turns kubeml's own binary (static, or with the shared
// libraries a cgo build needs as more files) into container images and
// writes them as a docker-archive tarball ("docker save" format), with no
// registry involved.
//
// The tarball can be loaded straight into a node's containerd with
//
//	ctr -n k8s.io images import FILE
//
// An image is described by a [Spec]: one binary, put at one path inside an
// otherwise empty filesystem, plus the entrypoint, arguments and environment
// to run it with. [Build] turns a Spec into a [v1.Image]; [WriteTarball]
// writes several of them into one file, storing a layer that several images
// share only once, so a kubeml image and a "pause" image made from the same
// binary cost one copy of it. [ContentTag] derives a tag from the binary's
// contents, so a rebuilt binary gets a new tag and never hides behind a
// cached image.
//
// Builds are deterministic: the same binary and Spec give the same image
// digest, because the layer tar carries fixed owners, modes and timestamps.
package image
