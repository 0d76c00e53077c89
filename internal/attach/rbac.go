package attach

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// permission is one thing kubeml needs to be allowed to do. Namespaced
// permissions are checked in Namespace, the others cluster-wide.
type permission struct {
	group, resource string
	verbs           []string
	namespaced      bool
}

var (
	crud = []string{"create", "get", "update", "delete", "list"}
	read = []string{"get", "list", "watch"}
)

// permissions is what kubeml needs: manage the router and its record in
// kubeml-system, deploy model services (Deployments, Services,
// PodDisruptionBudgets and model ConfigMaps) in any namespace, list nodes
// (capacity), read pods, their logs and events to explain what is not
// ready, and hold what the router's Role and ClusterRole grant (RBAC
// forbids granting more than one holds).
var permissions = []permission{
	{"", "namespaces", []string{"create", "get", "delete", "list"}, false},
	{"", "secrets", append(crud, "watch"), true}, // TLS certificate, routing
	{"", "serviceaccounts", crud, true},
	{"rbac.authorization.k8s.io", "roles", crud, true},
	{"rbac.authorization.k8s.io", "rolebindings", crud, true},
	{"rbac.authorization.k8s.io", "clusterroles", crud, false},
	{"rbac.authorization.k8s.io", "clusterrolebindings", crud, false},
	{"coordination.k8s.io", "leases", []string{"get", "create", "update"}, true},
	{"", "configmaps", append(crud, "watch"), false},
	{"", "services", append(crud, "watch"), false},
	{"apps", "deployments", append(crud, "watch"), false},
	{"apps", "deployments/scale", []string{"get", "update"}, false},
	{"policy", "poddisruptionbudgets", crud, false},
	{"", "nodes", []string{"list"}, false},
	{"", "pods", read, false},
	{"", "pods/log", []string{"get"}, false},
	{"", "events", []string{"list"}, false},
	{"discovery.k8s.io", "endpointslices", read, false},
}

func (p permission) describe(verb string) string {
	r := p.resource
	if p.group != "" {
		r += "." + p.group
	}
	if p.namespaced {
		return verb + " " + r + " in namespace " + Namespace
	}
	return verb + " " + r + " (cluster-wide)"
}

// allowed asks the API server whether the caller may do verb on p.
func allowed(ctx context.Context, pr *probe, group, resource, verb, ns string) (bool, error) {
	resource, sub, _ := strings.Cut(resource, "/")
	r := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authzv1.ResourceAttributes{Group: group, Resource: resource, Subresource: sub, Verb: verb, Namespace: ns},
	}}
	res, err := pr.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, r, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("failed to review access to %s %s: %w", verb, resource, err)
	}
	return res.Status.Allowed, nil
}

// checkRBAC: the credentials hold every permission kubeml needs
// (SelfSubjectAccessReview; one review suffices for a cluster admin).
func checkRBAC(ctx context.Context, p *probe) []Check {
	if ok, err := allowed(ctx, p, "*", "*", "*", ""); err == nil && ok {
		return []Check{pass("RBACGranted", "The credentials hold every permission kubeml needs (cluster admin).")}
	}
	type item struct {
		desc, group, resource, verb, ns string
	}
	var items []item
	for _, perm := range permissions {
		ns := ""
		if perm.namespaced {
			ns = Namespace
		}
		for _, v := range perm.verbs {
			items = append(items, item{perm.describe(v), perm.group, perm.resource, v, ns})
		}
	}
	denied := make([]string, len(items))
	errs := make([]error, len(items))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ok, err := allowed(ctx, p, it.group, it.resource, it.verb, it.ns)
			errs[i] = err
			if err == nil && !ok {
				denied[i] = it.desc
			}
		})
	}
	wg.Wait()
	var missing []string
	for i := range items {
		if errs[i] != nil {
			return []Check{fail("RBACUnknown", "Cannot review kubeml's permissions: "+errs[i].Error())}
		}
		if denied[i] != "" {
			missing = append(missing, denied[i])
		}
	}
	if len(missing) > 0 {
		return []Check{fail("RBACDenied", fmt.Sprintf("The credentials lack %d permission(s) kubeml needs: %s.", len(missing), strings.Join(missing, "; ")))}
	}
	return []Check{pass("RBACGranted", "The credentials hold every permission kubeml needs.")}
}

// checkAttachment: the cluster carries no attachment record, or one naming
// this same attachment.
func checkAttachment(ctx context.Context, p *probe) []Check {
	cur, err := ReadAttachment(ctx, p.cs)
	switch {
	case err != nil:
		return []Check{fail("AttachmentUnknown", "Cannot read the cluster's attachment record: "+err.Error())}
	case cur == nil:
		return []Check{pass("NotAttached", "The cluster is not attached to any workspace.")}
	case cur.Same(p.o.Attachment):
		return []Check{pass("SameAttachment", "The cluster is already attached as this compute; attaching again is a retry.")}
	}
	return []Check{fail("AlreadyAttached", "The cluster is already "+cur.Describe()+".")}
}

// checkNamespace: the workload namespace is a valid DNS-1123 label.
func checkNamespace(_ context.Context, p *probe) []Check {
	if errs := validation.IsDNS1123Label(p.o.Namespace); len(errs) > 0 {
		return []Check{fail("InvalidNamespace", fmt.Sprintf("Namespace %q is invalid: %s.", p.o.Namespace, strings.Join(errs, "; ")))}
	}
	return []Check{pass("NamespaceValid", fmt.Sprintf("Namespace %q is a valid DNS-1123 label.", p.o.Namespace))}
}
