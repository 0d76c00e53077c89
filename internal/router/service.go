package router

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kubeml/kubeml/internal/routing"
)

// Defaults of a service's settings when its routing leaves them zero (the
// web service defaults of Azure ML).
const (
	defaultScoringTimeout = 60 * time.Second
	defaultQueueWait      = 500 * time.Millisecond
	defaultTarget         = 70
	maxVersions           = 6
)

// service is one deployed web service as the router serves it: an
// immutable snapshot of its routing, rebuilt whenever the routing changes.
// Pools (endpoints and their load) are shared between snapshots.
type service struct {
	cfg       routing.Service
	keyHashes [][]byte // lower-case hex
	tokenKey  []byte
	timeout   time.Duration
	queueWait time.Duration
	maxConc   int
	versions  []*version
	// invalid explains bad traffic weights; requests that do not pin a
	// version are refused with it rather than routed by a guess.
	invalid error
}

// version is one version of a service.
type version struct {
	cfg      routing.Version
	podToken string  // the service's, sent to its pods
	weight   float64 // share of unpinned traffic, 0-100
	pool     *pool
	metrics  *versionMetrics
}

// parseRouting decodes and checks a routing Secret's JSON (the name
// defaults to name): what makes a service unroutable is an error here,
// and the Secret is skipped.
func parseRouting(data []byte, name string) (routing.Service, error) {
	var sr routing.Service
	if err := json.Unmarshal(data, &sr); err != nil {
		return sr, fmt.Errorf("failed to decode %s: %w", routing.SecretKey, err)
	}
	if sr.Name == "" {
		sr.Name = name
	}
	var errs []error
	if !isDNS1123Label(sr.Name) {
		errs = append(errs, fmt.Errorf("service name %q is not a DNS label", clip(sr.Name)))
	}
	if sr.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if len(sr.Versions) == 0 || len(sr.Versions) > maxVersions {
		errs = append(errs, fmt.Errorf("%d versions, want 1 to %d", len(sr.Versions), maxVersions))
	}
	seen := map[string]bool{}
	for i, v := range sr.Versions {
		switch {
		case v.Name == "":
			errs = append(errs, fmt.Errorf("version %d has no name", i))
		case seen[v.Name]:
			errs = append(errs, fmt.Errorf("version %q appears twice", clip(v.Name)))
		case v.Service == "":
			errs = append(errs, fmt.Errorf("version %q has no Kubernetes Service", clip(v.Name)))
		}
		seen[v.Name] = true
	}
	return sr, errors.Join(errs...)
}

// newService builds a snapshot; poolFor returns the pool of a version.
func newService(sr routing.Service, poolFor func(routing.Version) *pool, m *metrics) *service {
	s := &service{
		cfg:       sr,
		timeout:   msOr(sr.ScoringTimeoutMs, defaultScoringTimeout),
		queueWait: msOr(sr.MaxQueueWaitMs, defaultQueueWait),
		maxConc:   max(sr.MaxConcurrentRequestsPerContainer, 1),
	}
	for _, h := range sr.KeyHashes {
		s.keyHashes = append(s.keyHashes, []byte(strings.ToLower(h)))
	}
	if sr.TokenAuthEnabled {
		// A bad key leaves tokenKey empty: no token verifies (fail closed).
		s.tokenKey, _ = base64.StdEncoding.DecodeString(sr.TokenKey)
	}
	for _, vr := range sr.Versions {
		p := poolFor(vr)
		p.setMax(s.maxConc)
		s.versions = append(s.versions, &version{cfg: vr, podToken: sr.PodToken, pool: p, metrics: m.forVersion(sr.Name, vr.Name)})
	}
	s.invalid = s.setWeights()
	return s
}

// setWeights gives each version its share: each non-default version its
// TrafficPercentile, the default version what they leave. A lone version
// takes everything.
func (s *service) setWeights() error {
	if len(s.versions) == 1 {
		s.versions[0].weight = 100
		return nil
	}
	var def *version
	others := 0.0
	for _, v := range s.versions {
		p := v.cfg.TrafficPercentile
		if math.IsNaN(p) || p < 0 || p > 100 {
			return fmt.Errorf("version %q has traffic percentile %v, want 0 to 100", v.cfg.Name, p)
		}
		if !v.cfg.IsDefault {
			v.weight = p
			others += p
			continue
		}
		if def != nil {
			return fmt.Errorf("versions %q and %q are both the default", def.cfg.Name, v.cfg.Name)
		}
		def = v
	}
	if def == nil {
		return errors.New("no version is the default")
	}
	if others > 100+1e-9 {
		return fmt.Errorf("the non-default versions take %v%% of the traffic, more than 100%%", others)
	}
	def.weight = max(0, 100-others)
	return nil
}

// pick chooses the version for an unpinned request: by weight among the
// versions that have ready endpoints, or among all if none has (the
// request then waits for one).
func (s *service) pick(random func() float64) (*version, error) {
	if s.invalid != nil {
		return nil, s.invalid
	}
	for _, needReady := range []bool{true, false} {
		total := 0.0
		for _, v := range s.versions {
			if v.weight > 0 && (!needReady || v.pool.ready.Load() > 0) {
				total += v.weight
			}
		}
		if total == 0 {
			continue
		}
		x := random() * total
		var last *version
		for _, v := range s.versions {
			if v.weight > 0 && (!needReady || v.pool.ready.Load() > 0) {
				last = v
				if x -= v.weight; x < 0 {
					return v, nil
				}
			}
		}
		return last, nil // rounding
	}
	return nil, errors.New("no version takes any traffic")
}

// version returns the named version, or nil.
func (s *service) version(name string) *version {
	for _, v := range s.versions {
		if v.cfg.Name == name {
			return v
		}
	}
	return nil
}

func msOr(ms int, def time.Duration) time.Duration {
	if ms <= 0 {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}
