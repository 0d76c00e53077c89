// Package registry is the workspace's model registry: models are
// registered in auto-incremented versions, checked by loading them with
// the runtime that will serve them (a model it cannot load is refused with
// the reason), and kept in a blob store with their SHA-256 and size.
package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/blob"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/serving"
	"github.com/kubeml/kubeml/internal/serving/model"
	"github.com/kubeml/kubeml/internal/store"
)

// DefaultMaxSize bounds a model's file.
const DefaultMaxSize = 256 << 20

// Registry registers, lists and serves model versions.
type Registry struct {
	Store    store.Store
	Blobs    blob.Store
	Runtimes serving.Runtimes
	Now      func() time.Time
	MaxSize  int64
	// InUse names the web services that deploy a model version; Delete
	// is refused while there are any.
	InUse func(ctx context.Context, tx store.Tx, modelVersionID string) ([]string, error)
}

// stored is a model version as kept: the API resource and its blob key.
type stored struct {
	api.ModelVersion
	Blob string `json:"kubemlBlob"`
}

// Options are what a register request says besides the bytes.
type Options struct {
	Framework   string
	FileName    string
	Description string
	Tags        map[string]string
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][-._a-zA-Z0-9]{0,254}$`)

func bad(code, format string, args ...any) error {
	return &fault.Error{Kind: fault.Invalid, ErrorDetail: api.ErrorDetail{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// ModelID is the id of a model (the parent of its versions).
func ModelID(ws api.ResourceID, name string) string { return ws.String() + "/models/" + name }

func versionID(ws api.ResourceID, name string, v int) string {
	return ModelID(ws, name) + "/versions/" + strconv.Itoa(v)
}

// Register stores body as the next version of model name in workspace ws.
func (r *Registry) Register(ctx context.Context, ws api.ResourceID, name string, o Options, body io.Reader) (*api.ModelVersion, error) {
	var errs []string
	if !nameRE.MatchString(name) {
		errs = append(errs, fmt.Sprintf("model name %q must be 1-255 letters, digits, '-', '_' or '.', starting with a letter or digit", name))
	}
	fw := strings.ToLower(o.Framework)
	if fw != "" && r.Runtimes[fw] == nil {
		errs = append(errs, fmt.Sprintf("model framework %q is not supported; supported: %s", o.Framework, strings.Join(r.frameworks(), ", ")))
	}
	if len(errs) > 0 {
		return nil, bad("InvalidModel", "%s", strings.Join(errs, "; "))
	}
	if _, err := r.Store.Get(ctx, ws.String()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &fault.Error{Kind: fault.NotFound, ErrorDetail: api.ErrorDetail{Code: "WorkspaceNotFound", Message: "workspace " + ws.Name + " not found"}}
		}
		return nil, err
	}
	key := "models/" + randomHex(16)
	max := r.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	info, err := r.Blobs.Put(ctx, key, body, max)
	if errors.Is(err, blob.ErrTooLarge) {
		return nil, &fault.Error{Kind: fault.TooLarge, ErrorDetail: api.ErrorDetail{Code: "ModelTooLarge", Message: fmt.Sprintf("the model is over %d MiB", max>>20)}}
	}
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = r.Blobs.Delete(context.WithoutCancel(ctx), key)
		}
	}()
	fw, ins, outs, err := r.check(ctx, key, o.FileName, fw)
	if err != nil {
		return nil, err
	}
	now := r.now()
	mv := stored{Blob: key, ModelVersion: api.ModelVersion{Type: api.TypeModelVersion,
		SystemData: &api.SystemData{CreatedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"},
		Properties: api.ModelVersionProperties{ModelName: name, ModelType: fw, FileName: path.Base(o.FileName), SHA256: info.SHA256, Size: info.Size,
			Description: o.Description, Tags: o.Tags, Inputs: ins, Outputs: outs, CreatedAt: &now, ProvisioningState: api.StateSucceeded}}}
	for attempt := 0; attempt < 10; attempt++ {
		err = r.Store.Update(ctx, func(tx store.Tx) error {
			next, err := nextVersion(ctx, tx, ws, name)
			if err != nil {
				return err
			}
			mv.Properties.Version, mv.Name, mv.ID = next, strconv.Itoa(next), versionID(ws, name, next)
			b, _ := json.Marshal(mv)
			_, err = tx.Create(ctx, store.Resource{ID: mv.ID, Type: api.TypeModelVersion, Parent: ModelID(ws, name), Body: b})
			return err
		})
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	keep = true
	return &mv.ModelVersion, nil
}

// check loads the stored bytes with the runtime that will serve them.
func (r *Registry) check(ctx context.Context, key, fileName, want string) (string, []api.TensorSpec, []api.TensorSpec, error) {
	rc, err := r.Blobs.Open(ctx, key)
	if err != nil {
		return "", nil, nil, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return "", nil, nil, err
	}
	fw, err := serving.Detect(fileName, data)
	if err != nil {
		return "", nil, nil, bad("UnsupportedModel", "%v", err)
	}
	if want != "" && want != fw {
		return "", nil, nil, bad("FrameworkMismatch", "the file is a %s model, not %s", fw, want)
	}
	load := r.Runtimes[fw]
	if load == nil {
		return "", nil, nil, bad("UnsupportedModel", "no runtime for %s models in this server", fw)
	}
	m, err := load(bytes.Clone(data))
	if err != nil {
		return "", nil, nil, bad("UnsupportedModel", "the %s runtime cannot load the model: %v", fw, err)
	}
	defer m.Close()
	return fw, specs(m.Inputs()), specs(m.Outputs()), nil
}

func specs(in []model.Spec) []api.TensorSpec {
	out := make([]api.TensorSpec, 0, len(in))
	for _, s := range in {
		out = append(out, api.TensorSpec{Name: s.Name, DataType: string(s.DataType), Shape: s.Shape})
	}
	return out
}

func nextVersion(ctx context.Context, tx store.Tx, ws api.ResourceID, name string) (int, error) {
	rs, _, err := tx.List(ctx, api.TypeModelVersion, ModelID(ws, name), 0, 0)
	if err != nil {
		return 0, err
	}
	max := 0
	for _, res := range rs {
		var mv stored
		if json.Unmarshal(res.Body, &mv) == nil && mv.Properties.Version > max {
			max = mv.Properties.Version
		}
	}
	return max + 1, nil
}

func (r *Registry) frameworks() []string {
	out := make([]string, 0, len(r.Runtimes))
	for k := range r.Runtimes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
