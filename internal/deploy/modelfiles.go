package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubeml/kubeml/internal/kubeobj"
)

// Models reach their pods through the cluster's API server, which every
// caller of this package can reach (pods often cannot reach the workspace
// server): as immutable ConfigMaps of at most ModelPartSize bytes each,
// named kubeml-model-<first 16 hex digits of the SHA-256>-<index>, shared
// by every service in the namespace that serves the same bytes, and
// mounted into the pods as one projected volume of files part-0000,
// part-0001, ...
const (
	// ModelLabel carries the first 63 hex digits of a model part's SHA-256.
	ModelLabel = "kubeml.io/model-sha256"
	// ModelPartSize is the most bytes one ConfigMap holds (the API server
	// takes at most 1 MiB).
	ModelPartSize = 900 << 10
	// modelPartKey is the ConfigMap key of a part's bytes.
	modelPartKey    = "part"
	modelPrefix     = "kubeml-model-"
	modelVolumeName = "model"
)

// modelParts is how many ConfigMaps a model of size bytes takes.
func modelParts(size int64) int { return int((size + ModelPartSize - 1) / ModelPartSize) }

// modelStem is what the names of a model's ConfigMaps start with.
func modelStem(sha string) string { return modelPrefix + sha[:16] + "-" }

// ModelPartName names the i-th ConfigMap of the model with that SHA-256.
func ModelPartName(sha string, i int) string { return fmt.Sprintf("%s%d", modelStem(sha), i) }

// modelVolume mounts a model's parts as part-0000, part-0001, ...
func modelVolume(m ModelFile) corev1.Volume {
	n := modelParts(m.Size)
	sources := make([]corev1.VolumeProjection, n)
	for i := range n {
		sources[i].ConfigMap = &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: ModelPartName(m.SHA256, i)},
			Items:                []corev1.KeyToPath{{Key: modelPartKey, Path: fmt.Sprintf("part-%04d", i)}},
		}
	}
	return corev1.Volume{Name: modelVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}}
}

// ensureModel uploads the model's parts that are not in ns yet. The last
// part is written only once all bytes were read and matched the SHA-256,
// so its presence means the model is complete.
func ensureModel(ctx context.Context, cs kubernetes.Interface, ns string, m ModelFile, progress func(string)) error {
	cms := cs.CoreV1().ConfigMaps(ns)
	n := modelParts(m.Size)
	last := ModelPartName(m.SHA256, n-1)
	if _, err := cms.Get(ctx, last, metav1.GetOptions{}); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to read ConfigMap %s/%s: %w", ns, last, err)
	}
	report(progress, "uploading model %s (%.1f MiB) as %d ConfigMaps in %s", m.Name, float64(m.Size)/(1<<20), n, ns)
	rc, err := m.Open()
	if err != nil {
		return fmt.Errorf("failed to open model %s: %w", m.Name, err)
	}
	defer rc.Close()
	h := sha256.New()
	buf := make([]byte, ModelPartSize)
	var written []string
	for i := range n {
		size := min(ModelPartSize, m.Size-int64(i)*ModelPartSize)
		if _, err := io.ReadFull(rc, buf[:size]); err != nil {
			return fmt.Errorf("failed to read model %s: it is shorter than %d bytes: %w", m.Name, m.Size, err)
		}
		h.Write(buf[:size])
		if i == n-1 {
			if k, _ := io.ReadFull(rc, make([]byte, 1)); k > 0 {
				return errors.Join(fmt.Errorf("failed to read model %s: it is longer than %d bytes", m.Name, m.Size), dropParts(ctx, cms, written))
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
				return errors.Join(fmt.Errorf("failed to upload model %s: its SHA-256 is %s, not %s", m.Name, got, m.SHA256), dropParts(ctx, cms, written))
			}
		}
		name := ModelPartName(m.SHA256, i)
		if err := putPart(ctx, cms, ns, name, m.SHA256, buf[:size]); err != nil {
			return err
		}
		written = append(written, name)
		if (i+1)%32 == 0 && i+1 < n {
			report(progress, "uploaded %d of %d parts of model %s", i+1, n, m.Name)
		}
	}
	return nil
}

// putPart creates one part's ConfigMap. An existing one with other bytes
// (left by an upload that failed its check) is replaced.
func putPart(ctx context.Context, cms typedcorev1.ConfigMapInterface, ns, name, sha string, data []byte) error {
	yes := true
	cm := &corev1.ConfigMap{ObjectMeta: kubeobj.Meta(ns, name, map[string]string{ModelLabel: sha[:63]}), Immutable: &yes,
		BinaryData: map[string][]byte{modelPartKey: data}}
	for range 2 {
		_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create ConfigMap %s/%s: %w", ns, name, err)
		}
		cur, err := cms.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("failed to read ConfigMap %s/%s: %w", ns, name, err)
		}
		if bytes.Equal(cur.BinaryData[modelPartKey], data) {
			return nil
		}
		if !kubeobj.IsManaged(cur.Labels) {
			return fmt.Errorf("failed to create ConfigMap %s/%s: it exists and is not managed by kubeml", ns, name)
		}
		uid := cur.UID
		err = cms.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to replace ConfigMap %s/%s: %w", ns, name, err)
		}
	}
	return fmt.Errorf("failed to create ConfigMap %s/%s: it keeps changing", ns, name)
}

// dropParts deletes the named parts.
func dropParts(ctx context.Context, cms typedcorev1.ConfigMapInterface, names []string) error {
	var errs []error
	for _, n := range names {
		if err := cms.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("failed to delete ConfigMap %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// modelConfigMaps returns the names of the model ConfigMaps a pod spec
// mounts.
func modelConfigMaps(pod *corev1.PodSpec) map[string]bool {
	out := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil && strings.HasPrefix(s.ConfigMap.Name, modelPrefix) {
				out[s.ConfigMap.Name] = true
			}
		}
	}
	return out
}

// dropUnusedModels deletes the candidate model ConfigMaps that no
// Deployment in ns mounts any more. Candidates are names read from
// Deployments (never a list of the ConfigMaps: that would fetch every
// model's bytes).
func dropUnusedModels(ctx context.Context, cs kubernetes.Interface, ns string, candidates map[string]bool) error {
	if len(candidates) == 0 {
		return nil
	}
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("failed to list Deployments in %s: %w", ns, err)
	}
	for _, d := range deps.Items {
		if d.DeletionTimestamp == nil {
			for n := range modelConfigMaps(&d.Spec.Template.Spec) {
				delete(candidates, n)
			}
		}
	}
	return dropParts(ctx, cs.CoreV1().ConfigMaps(ns), slices.Sorted(maps.Keys(candidates)))
}
