package client

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/kubeml/kubeml/api"
)

func (f *fake) serveClusters(w http.ResponseWriter, r *http.Request, p []string) {
	last := p[len(p)-1]
	switch {
	case last == "kubernetesVersions":
		reply(w, 200, api.KubernetesVersionList{Values: []api.KubernetesVersion{{Version: "1.33", IsDefault: true}}})
	case last == "orchestrators" && r.URL.Query().Get("resource-type") == "managedClusters":
		reply(w, 200, api.OrchestratorVersionProfileList{Properties: api.OrchestratorVersionProfiles{
			Orchestrators: []api.OrchestratorVersionProfile{{OrchestratorType: "Kubernetes", OrchestratorVersion: "1.33.1", Default: true}}}})
	case last == "managedClusters": // list by group (8 parts) or subscription (5)
		var l api.ManagedClusterList
		for _, k := range sortedKeys(f.clusters) {
			if mc := f.clusters[k]; len(p) == 5 || strings.Contains(mc.ID, "/resourceGroups/"+p[3]+"/") {
				l.Value = append(l.Value, *mc)
			}
		}
		reply(w, 200, l)
	case last == "listClusterUserCredential" || last == "listClusterAdminCredential":
		reply(w, 200, api.CredentialResults{Kubeconfigs: []api.CredentialResult{{Name: last, Value: []byte("kubeconfig")}}})
	case r.Method == http.MethodPut:
		var mc api.ManagedCluster
		json.NewDecoder(r.Body).Decode(&mc)
		mc.ID, mc.Name = api.ManagedClusterID(p[1], p[3], last).String(), last
		mc.Properties.ProvisioningState = api.StateCreating
		f.clusters[last] = &mc
		f.startOp(w, r, &fakeOp{polls: f.polls, done: func() { mc.Properties.ProvisioningState = api.StateSucceeded }})
		reply(w, 201, mc)
	case f.clusters[last] == nil:
		replyErr(w, 404, "ResourceNotFound", "managed cluster "+last+" not found")
	case r.Method == http.MethodGet:
		reply(w, 200, f.clusters[last])
	case r.Method == http.MethodDelete:
		f.startOp(w, r, &fakeOp{polls: f.polls, done: func() { delete(f.clusters, last) }})
		w.WriteHeader(202)
	}
}
