package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/output"
)

// flatten returns a resource as az shows it: its "properties" lifted to
// the top level, and resourceGroup taken from its id. Keys come out
// sorted, as in az's JSON.
func flatten(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if props, ok := m["properties"].(map[string]any); ok {
		delete(m, "properties")
		for k, x := range props {
			if _, taken := m[k]; !taken {
				m[k] = x
			}
		}
	}
	if id, ok := m["id"].(string); ok {
		if r, err := api.ParseResourceID(id); err == nil {
			m["resourceGroup"] = r.ResourceGroup
		}
	}
	return m, nil
}

// flattenAll flattens every item of a list.
func flattenAll[T any](items []T) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m, err := flatten(it)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// printFlat prints a resource, or a list of them, flattened.
func printFlat[T any](c *cli, v *T, list []T, t *output.Table) error {
	var out any
	var err error
	if v != nil {
		out, err = flatten(v)
	} else {
		out, err = flattenAll(list)
	}
	if err != nil {
		return err
	}
	return c.print(out, t)
}

// cell is a column formatted like az formats a value.
func cell(header, path string) output.Column { return output.Column{Header: header, Path: path} }

// clusterTable is `aks show/list -o table`, as az prints it.
var clusterTable = &output.Table{Columns: []output.Column{
	cell("Name", "name"), cell("Location", "location"), cell("ResourceGroup", "resourceGroup"),
	cell("KubernetesVersion", "kubernetesVersion"), cell("ProvisioningState", "provisioningState"), cell("Fqdn", "fqdn"),
}}

// versionsTable is `aks get-versions -o table`: one row per orchestrator.
var versionsTable = &output.Table{Columns: []output.Column{
	{Header: "KubernetesVersion", Path: "@", Transform: previewName},
	{Header: "Upgrades", Path: "upgrades", Transform: func(v any) string {
		l, _ := v.([]any)
		if len(l) == 0 {
			return "None available"
		}
		names := make([]string, len(l))
		for i, u := range l {
			names[i] = previewName(u)
		}
		return strings.Join(names, ", ")
	}},
}}

// previewName is an orchestrator's version, marked "(preview)" if it is.
func previewName(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["orchestratorVersion"].(string)
	if p, _ := m["isPreview"].(bool); p {
		s += "(preview)"
	}
	return s
}

var workspaceTable = &output.Table{Columns: []output.Column{
	cell("Name", "name"), cell("Location", "location"), cell("ResourceGroup", "resourceGroup"),
	cell("FriendlyName", "friendlyName"), cell("ProvisioningState", "provisioningState"),
}}

var computeTable = &output.Table{Columns: []output.Column{
	cell("Name", "name"), cell("Type", "properties.computeType"), cell("Location", "properties.computeLocation"),
	cell("ProvisioningState", "properties.provisioningState"), cell("Purpose", "properties.properties.clusterPurpose"),
	cell("AgentCount", "properties.properties.agentCount"), cell("VmSize", "properties.properties.agentVmSize"),
	cell("Attached", "properties.isAttachedCompute"),
}}

// computeFailed is the error of a compute whose provisioning failed.
func computeFailed(c *api.Compute) error {
	if c.Properties.ProvisioningState != api.StateFailed {
		return nil
	}
	e := &client.Error{Code: "ProvisioningFailed", Message: fmt.Sprintf("compute %s failed to provision", c.Name)}
	for _, pe := range c.Properties.ProvisioningErrors {
		e.Details = append(e.Details, pe.Error)
	}
	return e
}

// clusterFailed is the error of a managed cluster whose provisioning failed.
func clusterFailed(mc *api.ManagedCluster) error {
	if mc.Properties.ProvisioningState != api.StateFailed {
		return nil
	}
	e := &client.Error{Code: "ProvisioningFailed", Message: fmt.Sprintf("managed cluster %s failed to provision", mc.Name)}
	if pe := mc.Properties.ProvisioningError; pe != nil {
		e.Details = []api.ErrorDetail{*pe}
	}
	return e
}
