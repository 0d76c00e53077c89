package webservice

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/routing"
	"github.com/kubeml/kubeml/internal/store"
)

type clusterClient = kubernetes.Interface

func cpuQuantity(cores float64) resource.Quantity {
	return *resource.NewMilliQuantity(int64(cores*1000+0.5), resource.DecimalSI)
}

func memoryQuantity(gb float64) resource.Quantity {
	return *resource.NewQuantity(int64(gb*(1<<30)+0.5), resource.BinarySI)
}

func (m *Manager) load(ctx context.Context, op store.Operation) (input, *api.Service, api.ResourceID, error) {
	var in input
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return in, nil, api.ResourceID{}, err
	}
	id, err := parseServiceID(in.ServiceID)
	if err != nil {
		return in, nil, id, err
	}
	s, err := m.Get(ctx, id)
	return in, s, id, err
}

// runDeploy applies the service to its cluster and waits for it; it is
// idempotent, so a resumed deploy runs it again.
func (m *Manager) runDeploy(ctx context.Context, op operation.Op, _ operation.Journal, progress operation.Progress) error {
	in, s, id, err := m.load(ctx, op)
	if err != nil {
		return err
	}
	cid, err := api.ParseResourceID(in.ComputeID)
	if err != nil {
		return err
	}
	_, cs, image, err := m.Compute.ComputeClient(ctx, cid)
	if err != nil {
		return err
	}
	ws, err := m.webService(ctx, workspaceOf(id), s, image)
	if err != nil {
		return err
	}
	if err := deploy.ApplyWebService(ctx, cs, ws, progress); err != nil {
		return err
	}
	if err := deploy.WaitWebService(ctx, cs, ws, progress); err != nil {
		return err
	}
	base, err := attach.RouterURL(ctx, cs)
	if err != nil {
		return err
	}
	return m.update(ctx, s.ID, func(s *api.Service) {
		s.Properties.State, s.Properties.ProvisioningState, s.Properties.Error = "Healthy", api.StateSucceeded, nil
		s.Properties.ScoringURI = base + "/api/v1/service/" + s.Name + "/score"
		s.Properties.SwaggerURI = base + "/api/v1/service/" + s.Name + "/swagger.json"
	})
}

// webService is what the cluster gets for a service.
func (m *Manager) webService(ctx context.Context, ws api.ResourceID, s *api.Service, image string) (deploy.WebService, error) {
	p, ps := makePlan(s.Name, &s.Properties)
	if len(ps) > 0 {
		return deploy.WebService{}, fmt.Errorf("the stored service is invalid: %s", summary(ps))
	}
	r, err := m.routing(ctx, s.ID, s.Name, p)
	if err != nil {
		return deploy.WebService{}, err
	}
	tokens, err := m.podTokens(ctx, s.ID)
	if err != nil {
		return deploy.WebService{}, err
	}
	out := deploy.WebService{Name: s.Name, Namespace: p.Namespace, Image: image, Routing: r, PodTokens: tokens}
	for _, v := range p.Versions {
		mv, err := m.Models.Get(ctx, ws, v.Model.Name, v.Model.Version)
		if err != nil {
			return out, err
		}
		ref := v.Model
		cv := deploy.Version{Name: v.Name, CPU: cpuQuantity(v.CPU), Memory: memoryQuantity(v.MemoryGB), Replicas: int32(v.Replicas),
			Liveness: probeOut(v.Liveness), Readiness: probeOut(v.Readiness),
			Model: deploy.ModelFile{Name: mv.Properties.FileName, Framework: mv.Properties.ModelType, SHA256: mv.Properties.SHA256, Size: mv.Properties.Size,
				Open: func() (io.ReadCloser, error) {
					rc, _, err := m.Models.Open(ctx, ws, ref.Name, ref.Version)
					return rc, err
				}}}
		if v.CPULimit > 0 {
			q := cpuQuantity(v.CPULimit)
			cv.CPULimit = &q
		}
		if v.MemoryLimitGB > 0 {
			q := memoryQuantity(v.MemoryLimitGB)
			cv.MemoryLimit = &q
		}
		out.Versions = append(out.Versions, cv)
	}
	return out, nil
}

func probeOut(p probe) deploy.Probe {
	return deploy.Probe{PeriodSeconds: int32(p.Period), InitialDelaySeconds: int32(p.InitialDelay), TimeoutSeconds: int32(p.Timeout),
		FailureThreshold: int32(p.Failure), SuccessThreshold: int32(p.Success)}
}

// routing is the router's view of a service: its plan and key hashes.
func (m *Manager) routing(ctx context.Context, sid, name string, p plan) (routing.Service, error) {
	keys, err := m.keys(ctx, sid)
	if err != nil {
		return routing.Service{}, err
	}
	tk, err := m.tokenKey(ctx, sid)
	if err != nil {
		return routing.Service{}, err
	}
	r := routing.Service{Name: name, Namespace: p.Namespace, AuthEnabled: p.Auth, TokenAuthEnabled: p.Token,
		KeyHashes: []string{routing.HashKey(keys.PrimaryKey), routing.HashKey(keys.SecondaryKey)}, TokenKey: base64.StdEncoding.EncodeToString(tk),
		ScoringTimeoutMs: p.TimeoutMs, MaxConcurrentRequestsPerContainer: p.MaxConcurrent, MaxQueueWaitMs: p.QueueWaitMs}
	for _, v := range p.Versions {
		r.Versions = append(r.Versions, routing.Version{Name: v.Name, TrafficPercentile: v.Traffic, IsDefault: v.IsDefault,
			Autoscale: routing.Autoscale{Enabled: v.Autoscale, MinReplicas: v.Min, MaxReplicas: v.Max, TargetUtilization: v.Target}})
	}
	return r, nil
}

func (m *Manager) update(ctx context.Context, id string, fn func(*api.Service)) error {
	return m.Store.Update(ctx, func(tx store.Tx) error {
		r, err := tx.Get(ctx, id)
		if err != nil {
			return err
		}
		var s api.Service
		if err := json.Unmarshal(r.Body, &s); err != nil {
			return err
		}
		fn(&s)
		now := m.Now().UTC()
		s.Properties.UpdatedOn = &now
		r.Body, _ = json.Marshal(s)
		_, err = tx.Put(ctx, r, "")
		return err
	})
}

// deployFailed records why a deploy or delete failed, with the reason
// read from the cluster when there is one.
func (m *Manager) deployFailed(ctx context.Context, op operation.Op, cause error) {
	var in input
	if json.Unmarshal(op.Input, &in) != nil {
		return
	}
	d := api.ErrorDetail{Code: "DeploymentFailed", Message: cause.Error()}
	var ae *fault.Error
	var de *deploy.DeployError
	switch {
	case errors.As(cause, &de):
		d.Code = de.Reason
	case errors.As(cause, &ae):
		d = ae.ErrorDetail
	}
	_ = m.update(context.WithoutCancel(ctx), in.ServiceID, func(s *api.Service) {
		s.Properties.State, s.Properties.ProvisioningState, s.Properties.Error = "Failed", api.StateFailed, &d
	})
}

// runDelete removes the service from its cluster, then from the
// workspace. A compute that is gone leaves nothing to clean.
func (m *Manager) runDelete(ctx context.Context, op operation.Op, _ operation.Journal, _ operation.Progress) error {
	in, s, _, err := m.load(ctx, op)
	var ae *fault.Error
	if errors.As(err, &ae) && ae.Kind == fault.NotFound {
		return nil // deleted by an earlier run
	}
	if err != nil {
		return err
	}
	cid, err := api.ParseResourceID(in.ComputeID)
	if err != nil {
		return err
	}
	_, cs, _, err := m.Compute.ComputeClient(ctx, cid)
	switch {
	case errors.As(err, &ae) && ae.Kind == fault.NotFound, errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		p, _ := makePlan(s.Name, &s.Properties)
		if err := deploy.DeleteWebService(ctx, cs, p.Namespace, s.Name); err != nil {
			return err
		}
	}
	return m.Store.Update(ctx, func(tx store.Tx) error {
		for _, name := range []string{keysSecret(s.ID), tokenSecret(s.ID)} {
			if err := tx.DeleteSecret(ctx, name); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return tx.Delete(ctx, s.ID)
	})
}
