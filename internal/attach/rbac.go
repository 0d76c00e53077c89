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

// allowed asks the API server whether the caller may do verb on p.
func allowed(ctx context.Context, pr *probe, group, resource, verb, ns, name string) (bool, error) {
	resource, sub, _ := strings.Cut(resource, "/")
	r := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authzv1.ResourceAttributes{Group: group, Resource: resource, Subresource: sub, Verb: verb, Namespace: ns, Name: name},
	}}
	res, err := pr.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, r, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("failed to review access to %s %s: %w", verb, resource, err)
	}
	return res.Status.Allowed, nil
}

// checkRBAC: the credentials hold every right kubeml needs
// (SelfSubjectAccessReview; one review suffices for a cluster admin). The
// report says what it needs and what it found.
func checkRBAC(ctx context.Context, p *probe) []Check {
	if ok, err := allowed(ctx, p, "*", "*", "*", "", ""); err == nil && ok {
		return []Check{pass("RBACGranted", "The credentials are a cluster admin's: they hold every right kubeml needs."+scopedNote(p.o))}
	}
	type item struct {
		desc, group, resource, verb, ns, name string
	}
	var items []item
	for _, r := range neededRights(p.o.Namespace, p.o.Scoped) {
		name := ""
		if len(r.names) > 0 { // a right limited to names is reviewed for the first
			name = r.names[0]
		}
		for _, v := range r.verbs {
			items = append(items, item{r.describe(v, p.o.Namespace), r.group, r.resource, v, r.namespace(p.o.Namespace), name})
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
			ok, err := allowed(ctx, p, it.group, it.resource, it.verb, it.ns, it.name)
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
			return []Check{fail("RBACUnknown", "Cannot review kubeml's rights: "+errs[i].Error())}
		}
		if denied[i] != "" {
			missing = append(missing, denied[i])
		}
	}
	if len(missing) > 0 {
		return []Check{fail("RBACDenied", fmt.Sprintf("The credentials hold %d of the %d rights kubeml needs; missing: %s.",
			len(items)-len(missing), len(items), strings.Join(missing, "; ")))}
	}
	return []Check{pass("RBACGranted", fmt.Sprintf("The credentials hold all %d rights kubeml needs.", len(items))+scopedNote(p.o))}
}

// scopedNote says what kubeml's own account will hold instead.
func scopedNote(o PreflightOptions) string {
	if !o.Scoped {
		return ""
	}
	n := 0
	for _, r := range agentRights(o.Namespace) {
		n += len(r.verbs)
	}
	return fmt.Sprintf(" kubeml keeps instead an account of its own holding only those %d rights (in %s and %s, and cluster-wide reads).", n, Namespace, o.Namespace)
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
	if p.o.Namespace == Namespace {
		return []Check{fail("InvalidNamespace", fmt.Sprintf("Namespace %s is kubeml's own; model services go to another.", Namespace))}
	}
	return []Check{pass("NamespaceValid", fmt.Sprintf("Namespace %q is a valid DNS-1123 label.", p.o.Namespace))}
}
