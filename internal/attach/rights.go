package attach

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// scope says where a right holds.
type scope int

const (
	inSystem    scope = iota // in Namespace (kubeml-system)
	inWorkload               // in the namespace model services deploy to
	clusterWide              // cluster-scoped, or in every namespace
)

// right is one thing kubeml's account must be allowed to do. names, when
// set, limits it to those objects (RBAC resourceNames).
type right struct {
	group, resource string
	verbs           []string
	scope           scope
	names           []string
}

var (
	crud     = []string{"create", "get", "update", "delete", "list"}
	crudW    = append(crud[:len(crud):len(crud)], "watch")
	read     = []string{"get", "list", "watch"}
	listOnly = []string{"list"}
)

// agentRights is everything kubeml does in a cluster it attached, and
// nothing more. In kubeml-system: the attachment record, the router
// (Deployment, Service, ServiceAccount, Role and binding, config, TLS and
// metrics Secrets) and the services' routing Secrets. In the workload
// namespace: the model services (Deployments, Services, budgets, model
// ConfigMaps, pod-token Secrets), the router's Role there and the
// NetworkPolicy that lets only the router reach model pods. Cluster
// wide, only reads: nodes and pods for capacity, its namespaces by name,
// and deleting kubeml-system and its own namespace at detach. Holding a right is also
// what lets kubeml grant it to the router (RBAC forbids granting more
// than one holds), hence leases, endpoint slices and deployments/scale.
func agentRights(workload string) []right {
	ns := func(s scope) []right {
		return []right{
			{"", "configmaps", crudW, s, nil},
			{"", "secrets", crudW, s, nil},
			{"", "services", crudW, s, nil},
			{"apps", "deployments", crudW, s, nil},
			{"", "pods", read, s, nil},
			{"", "pods/log", []string{"get"}, s, nil},
			{"", "events", listOnly, s, nil},
			{"discovery.k8s.io", "endpointslices", read, s, nil},
			{"rbac.authorization.k8s.io", "roles", crud, s, nil},
			{"rbac.authorization.k8s.io", "rolebindings", crud, s, nil},
		}
	}
	out := ns(inSystem)
	out = append(out,
		right{"", "serviceaccounts", crud, inSystem, nil},
		right{"coordination.k8s.io", "leases", []string{"get", "create", "update"}, inSystem, nil},
	)
	out = append(out, ns(inWorkload)...)
	out = append(out,
		right{"apps", "deployments/scale", []string{"get", "update"}, inWorkload, nil},
		right{"apps", "replicasets", listOnly, inWorkload, nil},
		right{"policy", "poddisruptionbudgets", crud, inWorkload, nil},
		right{"networking.k8s.io", "networkpolicies", crud, inWorkload, nil},
		right{"", "nodes", listOnly, clusterWide, nil},
		right{"", "pods", listOnly, clusterWide, nil},
		right{"", "namespaces", []string{"get"}, clusterWide, append(bothNamespaces(workload), AgentName)},
		right{"", "namespaces", []string{"delete"}, clusterWide, []string{Namespace, AgentName}},
	)
	return out
}

// scopingRights are what the credentials given at attach must also hold
// to make kubeml's own account (and the workload namespace, if missing).
var scopingRights = []right{
	{"", "namespaces", []string{"create", "update"}, clusterWide, nil},
	{"rbac.authorization.k8s.io", "clusterroles", []string{"create", "get", "update"}, clusterWide, nil},
	{"rbac.authorization.k8s.io", "clusterrolebindings", []string{"create", "get", "update"}, clusterWide, nil},
}

// neededRights is what the preflight checks the given credentials for.
func neededRights(workload string, scoped bool) []right {
	r := agentRights(workload)
	if scoped {
		r = append(r, scopingRights...)
	}
	return r
}

// bothNamespaces names kubeml-system and the workload namespace, once each.
func bothNamespaces(workload string) []string {
	if workload == "" || workload == Namespace {
		return []string{Namespace}
	}
	return []string{Namespace, workload}
}

// namespace is where r holds ("" for cluster-wide).
func (r right) namespace(workload string) string {
	switch r.scope {
	case inSystem:
		return Namespace
	case inWorkload:
		return workload
	}
	return ""
}

func (r right) describe(verb, workload string) string {
	res := r.resource
	if r.group != "" {
		res += "." + r.group
	}
	if len(r.names) > 0 {
		res += " " + strings.Join(r.names, ",")
	}
	if ns := r.namespace(workload); ns != "" {
		return verb + " " + res + " in " + ns
	}
	return verb + " " + res + " (cluster)"
}

func (r right) rule() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{r.group}, Resources: []string{r.resource}, Verbs: r.verbs, ResourceNames: r.names}
}

// agentRules are agentRights as RBAC rules: a Role for kubeml-system, one
// for the workload namespace, and a ClusterRole for the rest (plus
// reviewing its own access).
func agentRules(workload string) (system, work, cluster []rbacv1.PolicyRule) {
	cluster = []rbacv1.PolicyRule{
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews"}, Verbs: []string{"create"}},
	}
	for _, r := range agentRights(workload) {
		switch {
		case r.scope == inSystem || (r.scope == inWorkload && workload == Namespace):
			system = append(system, r.rule())
		case r.scope == inWorkload:
			work = append(work, r.rule())
		default:
			cluster = append(cluster, r.rule())
		}
	}
	return system, work, cluster
}
