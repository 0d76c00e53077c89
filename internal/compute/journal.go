package compute

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/provider"
)

// opJournal keeps a provider's checkpoints (e.g. ARM resume tokens) in
// the operation's input, under "checkpoints", so a resumed operation
// hands them back to the provider.
type opJournal struct {
	m  *Manager
	id string
}

func (j opJournal) read(ctx context.Context) (map[string]json.RawMessage, map[string]string, error) {
	op, err := j.m.cfg.Store.GetOperation(ctx, j.id)
	if err != nil {
		return nil, nil, err
	}
	all := map[string]json.RawMessage{}
	if err := json.Unmarshal(op.Input, &all); err != nil {
		return nil, nil, err
	}
	cps := map[string]string{}
	if raw, ok := all["checkpoints"]; ok {
		if err := json.Unmarshal(raw, &cps); err != nil {
			return nil, nil, err
		}
	}
	return all, cps, nil
}

// Checkpoints the operation status shows.
const (
	progressKey = "kubeml.progress"
	warningsKey = "kubeml.warnings"
)

// progress records a provider's steps as the operation's progress.
func (j opJournal) progress() provider.Progress {
	return func(step string) { _ = j.Save(progressKey, step) }
}

// operationProperties reads what an operation status shows of its
// checkpoints.
func operationProperties(input json.RawMessage) *api.OperationProperties {
	var in struct {
		Checkpoints map[string]string `json:"checkpoints"`
	}
	if json.Unmarshal(input, &in) != nil || in.Checkpoints == nil {
		return nil
	}
	p := &api.OperationProperties{Progress: in.Checkpoints[progressKey]}
	if w := in.Checkpoints[warningsKey]; w != "" {
		p.Warnings = strings.Split(w, "\n")
	}
	if p.Progress == "" && p.Warnings == nil {
		return nil
	}
	return p
}

// Load returns a checkpoint of the operation.
func (j opJournal) Load(key string) (string, bool) {
	_, cps, err := j.read(context.Background())
	if err != nil {
		return "", false
	}
	v, ok := cps[key]
	return v, ok
}

// Save records a checkpoint before the provider goes on.
func (j opJournal) Save(key, value string) error {
	ctx := context.Background()
	op, err := j.m.cfg.Store.GetOperation(ctx, j.id)
	if err != nil {
		return err
	}
	all, cps, err := j.read(ctx)
	if err != nil {
		return err
	}
	cps[key] = value
	all["checkpoints"], _ = json.Marshal(cps)
	op.Input, _ = json.Marshal(all)
	return j.m.cfg.Store.UpdateOperation(ctx, op)
}
