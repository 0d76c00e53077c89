package webservice

import (
	"strings"
	"testing"

	"github.com/kubeml/kubeml/api"
)

func codes(ps problems) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return strings.Join(out, ",")
}

func TestPlanAppliesAzureDefaults(t *testing.T) {
	p, ps := makePlan("fashion", &api.ServiceProperties{ComputeName: "aks1", ServiceVersion: api.ServiceVersion{Models: []api.ModelRef{{Name: "m", Version: 1}}}})
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	v := p.Versions[0]
	if p.Namespace != "default" || !p.Auth || p.Token || p.TimeoutMs != 60000 || p.MaxConcurrent != 1 || p.QueueWaitMs != 500 ||
		len(p.Versions) != 1 || v.Name != "default" || !v.IsDefault || v.CPU != 0.1 || v.MemoryGB != 0.5 ||
		!v.Autoscale || v.Min != 1 || v.Max != 10 || v.Target != 70 || v.Replicas != 1 ||
		v.Liveness != (probe{10, 310, 2, 3, 1}) {
		t.Errorf("plan %+v / %+v", p, v)
	}
	p, ps = makePlan("fashion", &api.ServiceProperties{ComputeName: "aks1", TokenAuthEnabled: ptr(true),
		ServiceVersion: api.ServiceVersion{Models: []api.ModelRef{{Name: "m", Version: 1}}, NumReplicas: ptr(3)}})
	if len(ps) != 0 || p.Auth || !p.Token || p.Versions[0].Autoscale || p.Versions[0].Replicas != 3 {
		t.Errorf("token auth and fixed replicas: %+v %v", p, ps)
	}
}

func TestPlanReportsEveryProblemAtOnce(t *testing.T) {
	s := &api.ServiceProperties{Namespace: "Bad_NS", AuthEnabled: ptr(true), TokenAuthEnabled: ptr(true), ScoringTimeoutMs: ptr(0),
		ServiceVersion: api.ServiceVersion{NumReplicas: ptr(2), AutoScaler: &api.AutoScaler{AutoscaleEnabled: ptr(true), MinReplicas: ptr(5), MaxReplicas: ptr(2)},
			ContainerResourceRequirements: &api.ResourceRequirements{CPU: ptr(-1.0)}},
		Versions: map[string]*api.ServiceVersion{
			"a": {Models: []api.ModelRef{{Name: "m", Version: 1}}, TrafficPercentile: ptr(70.0)},
			"b": {Models: []api.ModelRef{{Name: "m", Version: 1}, {Name: "n", Version: 1}}, TrafficPercentile: ptr(150.0)},
		}}
	_, ps := makePlan("X", s)
	for _, want := range []string{"InvalidServiceName", "MissingCompute", "InvalidNamespace", "AuthConflict", "InvalidScoringTimeout",
		"ReplicasConflict", "InvalidResources", "MultipleModels", "InvalidTrafficPercentile", "DefaultVersion", "TrafficOver100"} {
		if !strings.Contains(codes(ps), want) {
			t.Errorf("missing %s in %s", want, codes(ps))
		}
	}
}

func TestPlanTrafficSplit(t *testing.T) {
	m := []api.ModelRef{{Name: "m", Version: 1}}
	split := func(vs map[string]*api.ServiceVersion) problems {
		_, ps := makePlan("svc", &api.ServiceProperties{ComputeName: "c", Versions: vs})
		return ps
	}
	if ps := split(map[string]*api.ServiceVersion{"blue": {Models: m, IsDefault: ptr(true)}, "green": {Models: m, TrafficPercentile: ptr(20.0)}}); len(ps) != 0 {
		t.Errorf("80/20: %v", ps)
	}
	seven := map[string]*api.ServiceVersion{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		seven[n] = &api.ServiceVersion{Models: m}
	}
	seven["a"].IsDefault = ptr(true)
	if ps := split(seven); !strings.Contains(codes(ps), "TooManyVersions") {
		t.Errorf("7 versions: %v", codes(ps))
	}
}
