package compute

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
)

// HealthConfig tunes the probes of attached clusters.
type HealthConfig struct {
	// Interval between probes of each cluster (default 10 s).
	Interval time.Duration
	// FailureThreshold is how many probes in a row must fail before a
	// cluster is Unhealthy (default 3). A 401 or 403 counts at once.
	FailureThreshold int
	// Timeout of one probe (default 5 s).
	Timeout time.Duration
	// Observe, if set, is told each compute's health after each probe
	// (for metrics).
	Observe func(computeID string, healthy bool)
}

// Health reasons.
const (
	ReasonProbeSucceeded = "ProbeSucceeded"
	ReasonProbeFailed    = "ProbeFailed"
	ReasonUnauthorized   = "Unauthorized"
	HealthHealthy        = "Healthy"
	HealthUnhealthy      = "Unhealthy"
	HealthUnknown        = "Unknown"
)

// RunHealth probes the cluster of every ready compute on an interval and
// keeps the result as the compute's health condition, until ctx ends.
func (m *Manager) RunHealth(ctx context.Context, hc HealthConfig) {
	if hc.Interval <= 0 {
		hc.Interval = 10 * time.Second
	}
	if hc.FailureThreshold <= 0 {
		hc.FailureThreshold = 3
	}
	if hc.Timeout <= 0 {
		hc.Timeout = 5 * time.Second
	}
	t := time.NewTicker(hc.Interval)
	defer t.Stop()
	for {
		m.probeAll(ctx, hc)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Manager) probeAll(ctx context.Context, hc HealthConfig) {
	rs, _, err := m.cfg.Store.List(ctx, api.TypeCompute, "", 0, 0)
	if err != nil {
		return
	}
	// Concurrently (at most 8 at once): a dead cluster's timeout must not
	// delay the others' verdicts.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, r := range rs {
		var c api.Compute
		if json.Unmarshal(r.Body, &c) != nil || c.Properties.ProvisioningState != api.StateSucceeded || c.Properties.Properties == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h := m.probe(ctx, &c, hc)
			if hc.Observe != nil {
				hc.Observe(c.ID, h.Status == HealthHealthy)
			}
			_ = m.updateComputeJSON(ctx, c.ID, func(cp *api.Compute) {
				if cp.Properties.Properties != nil && cp.Properties.ProvisioningState == api.StateSucceeded {
					cp.Properties.Properties.Health = h
				}
			})
		}()
	}
	wg.Wait()
}

// probe asks the cluster's API server for /readyz and folds the answer
// into the compute's previous health.
func (m *Manager) probe(ctx context.Context, c *api.Compute, hc HealthConfig) *api.Health {
	now := m.cfg.Now().UTC()
	h := api.Health{Status: HealthUnknown}
	if prev := c.Properties.Properties.Health; prev != nil {
		h = *prev
	}
	h.LastProbe = &now
	err := m.probeOnce(ctx, c, hc.Timeout)
	switch {
	case err == nil:
		h.Status, h.Reason, h.Message, h.ConsecutiveFailures, h.LastSuccess = HealthHealthy, ReasonProbeSucceeded, "", 0, &now
	case apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err):
		h.ConsecutiveFailures++
		h.Status, h.Reason, h.Message = HealthUnhealthy, ReasonUnauthorized, "the cluster refused kubeml's credentials: "+err.Error()
	default:
		h.ConsecutiveFailures++
		h.Reason, h.Message = ReasonProbeFailed, err.Error()
		if h.ConsecutiveFailures >= hc.FailureThreshold {
			h.Status = HealthUnhealthy
		}
	}
	return &h
}

func (m *Manager) probeOnce(ctx context.Context, c *api.Compute, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cs, _, err := m.computeCluster(ctx, c)
	if err != nil {
		return err
	}
	_, err = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

// healthy refuses work on a compute whose cluster is Unhealthy, at once
// and with the reason, instead of letting a request hang on it.
func healthy(c *api.Compute) error {
	p := c.Properties.Properties
	if p == nil || p.Health == nil || p.Health.Status != HealthUnhealthy {
		return nil
	}
	return fault.New(fault.Conflict, "ClusterUnhealthy", "the cluster of compute %s is unhealthy (%s, %d failed probes): %s", c.Name, p.Health.Reason, p.Health.ConsecutiveFailures, p.Health.Message)
}
