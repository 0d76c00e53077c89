package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// ApplyWebService creates or updates everything ws needs, in this order:
// the model ConfigMaps, then per version its Deployment, Service and
// PodDisruptionBudget, then the routing Secret; versions no longer in ws
// are deleted last, after the router stopped routing to them. Calling it
// again with the same ws changes nothing, so an interrupted operation can
// simply call it again. It does not wait for the pods: see WaitWebService.
func ApplyWebService(ctx context.Context, cs kubernetes.Interface, ws WebService, progress func(string)) error {
	ws, err := prepare(ws)
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, routing.Namespace, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("failed to deploy %s: cannot read namespace %s (is the cluster attached?): %w", ws.Name, routing.Namespace, err)
	}
	if err := ensureServiceNamespace(ctx, cs, ws.Namespace); err != nil {
		return err
	}
	old, err := serviceDeployments(ctx, cs, ws.Namespace, ws.Name)
	if err != nil {
		return err
	}
	if err := writePodTokens(ctx, cs, &ws); err != nil { // before the pods that mount it
		return err
	}
	uploaded := map[string]bool{}
	for _, v := range ws.Versions {
		if !uploaded[v.Model.SHA256] {
			if err := ensureModel(ctx, cs, ws.Namespace, v.Model, progress); err != nil {
				return err
			}
			uploaded[v.Model.SHA256] = true
		}
	}
	apps, core, policy := cs.AppsV1(), cs.CoreV1(), cs.PolicyV1()
	for _, v := range ws.Versions {
		report(progress, "applying version %s of %s: %d replica(s) of %s CPU, %s memory", v.Name, ws.Name, v.Replicas, v.CPU.String(), v.Memory.String())
		auto := routingOf(ws.Routing, v.Name).Autoscale.Enabled
		keep := func(cur, obj *appsv1.Deployment) {
			// The controller's revision annotation: dropping it would
			// count as a change of the Deployment.
			obj.Annotations = cur.Annotations
			if auto { // the router's autoscaler owns the count
				obj.Spec.Replicas = cur.Spec.Replicas
			}
		}
		if err := applyRetry(ctx, apps.Deployments(ws.Namespace), "Deployment", modelDeployment(ws, v), keep); err != nil {
			return err
		}
		if err := applyRetry(ctx, core.Services(ws.Namespace), "Service", modelService(ws, v), kubeobj.KeepClusterIP); err != nil {
			return err
		}
		if err := applyRetry(ctx, policy.PodDisruptionBudgets(ws.Namespace), "PodDisruptionBudget", modelPDB(ws, v), nil); err != nil {
			return err
		}
	}
	if err := grantRouter(ctx, cs, ws.Namespace); err != nil { // before the routing that has it scale them
		return err
	}
	if err := writeRouting(ctx, cs, ws.Routing); err != nil {
		return err
	}
	candidates := map[string]bool{}
	for _, d := range old {
		for n := range modelConfigMaps(&d.Spec.Template.Spec) {
			candidates[n] = true
		}
		if v := d.Labels[routing.VersionLabel]; !hasVersion(ws, v) {
			report(progress, "deleting version %s of %s", v, ws.Name)
			if err := deleteVersion(ctx, cs, ws.Namespace, d.Name); err != nil {
				return err
			}
		}
	}
	if err := grantRouter(ctx, cs, ws.Namespace); err != nil {
		return err
	}
	return dropUnusedModels(ctx, cs, ws.Namespace, candidates)
}

// UpdateRouting writes only the routing Secret of ws: ws.Routing with
// each version's Deployment, Service and Port filled in (versions of
// ws.Versions that it lacks are added). A new traffic split or new keys
// take effect without restarting pods. Images and models are not needed.
func UpdateRouting(ctx context.Context, cs kubernetes.Interface, ws WebService) error {
	if errs := validation.IsDNS1123Label(ws.Name); len(errs) > 0 {
		return fmt.Errorf("failed to update routing: service name %q: %s", ws.Name, strings.Join(errs, "; "))
	}
	var vs []Version
	if len(ws.Versions) > 0 {
		vs = ws.Versions
	}
	if err := writePodTokens(ctx, cs, &ws); err != nil { // the pods' first: they learn Next before the router sends it
		return err
	}
	r, err := fillRouting(ws.Routing, ws.Name, ws.Namespace, vs)
	if err != nil {
		return fmt.Errorf("failed to update routing of %s: %w", ws.Name, err)
	}
	return writeRouting(ctx, cs, r)
}

// writeRouting creates or updates the routing Secret holding r.
func writeRouting(ctx context.Context, cs kubernetes.Interface, r routing.Service) error {
	s, err := routingSecret(r)
	if err != nil {
		return err
	}
	return applyRetry(ctx, cs.CoreV1().Secrets(routing.Namespace), "Secret", s, nil)
}

// applyRetry is apply, again when a controller wrote the object between
// its read and its update.
func applyRetry[T metav1.Object](ctx context.Context, c kubeobj.Client[T], kind string, obj T, keep func(cur, obj T)) error {
	// Controllers write a new Deployment's status several times in its
	// first second: retry for about that long.
	backoff := wait.Backoff{Steps: 10, Duration: 20 * time.Millisecond, Factor: 1.5, Jitter: 0.2}
	return retry.RetryOnConflict(backoff, func() error {
		obj.SetResourceVersion("") // apply set it to the one that was stale
		_, err := kubeobj.Apply(ctx, c, kind, obj, keep)
		return err
	})
}

// DeleteWebService deletes the routing Secret (so the router stops first),
// then everything labelled with the service in its namespace, then the
// model ConfigMaps no other Deployment there still mounts. What is already
// gone is fine.
func DeleteWebService(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	secret := kubeobj.Object{Kind: "Secret", Namespace: routing.Namespace, Name: routing.SecretName(name)}
	if err := kubeobj.Remove(ctx, cs.CoreV1().Secrets(routing.Namespace), secret); err != nil {
		return err
	}
	if err := deletePodTokens(ctx, cs, namespace, name); err != nil {
		return err
	}
	deps, err := serviceDeployments(ctx, cs, namespace, name)
	if err != nil {
		return err
	}
	candidates := map[string]bool{}
	for _, d := range deps {
		for n := range modelConfigMaps(&d.Spec.Template.Spec) {
			candidates[n] = true
		}
		if err := deleteVersion(ctx, cs, namespace, d.Name); err != nil {
			return err
		}
	}
	// Services and budgets of versions whose Deployment is already gone.
	sel := metav1.ListOptions{LabelSelector: routing.ServiceLabel + "=" + name + "," + kubeobj.ManagedSelector}
	svcs, err := cs.CoreV1().Services(namespace).List(ctx, sel)
	if err != nil {
		return fmt.Errorf("failed to list the Services of %s: %w", name, err)
	}
	for _, s := range svcs.Items {
		if err := deleteVersion(ctx, cs, namespace, s.Name); err != nil {
			return err
		}
	}
	pdbs, err := cs.PolicyV1().PodDisruptionBudgets(namespace).List(ctx, sel)
	if err != nil {
		return fmt.Errorf("failed to list the PodDisruptionBudgets of %s: %w", name, err)
	}
	for _, p := range pdbs.Items {
		if err := deleteVersion(ctx, cs, namespace, p.Name); err != nil {
			return err
		}
	}
	if err := grantRouter(ctx, cs, namespace); err != nil {
		return err
	}
	return dropUnusedModels(ctx, cs, namespace, candidates)
}

// deleteVersion deletes a version's Deployment, Service and budget.
func deleteVersion(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	o := func(kind string) kubeobj.Object { return kubeobj.Object{Kind: kind, Namespace: ns, Name: name} }
	return errors.Join(
		kubeobj.Remove(ctx, cs.AppsV1().Deployments(ns), o("Deployment")),
		kubeobj.Remove(ctx, cs.CoreV1().Services(ns), o("Service")),
		kubeobj.Remove(ctx, cs.PolicyV1().PodDisruptionBudgets(ns), o("PodDisruptionBudget")),
	)
}

// serviceDeployments lists the Deployments kubeml made for a service.
func serviceDeployments(ctx context.Context, cs kubernetes.Interface, ns, name string) ([]appsv1.Deployment, error) {
	l, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: routing.ServiceLabel + "=" + name + "," + kubeobj.ManagedSelector})
	if err != nil {
		return nil, fmt.Errorf("failed to list the Deployments of %s: %w", name, err)
	}
	return l.Items, nil
}

func hasVersion(ws WebService, name string) bool {
	for _, v := range ws.Versions {
		if v.Name == name {
			return true
		}
	}
	return false
}

// ensureServiceNamespace creates a service's namespace when missing.
func ensureServiceNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to read namespace %s: %w", ns, err)
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: kubeobj.Meta("", ns, nil)}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", ns, err)
	}
	return nil
}
