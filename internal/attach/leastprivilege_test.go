package attach_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// action is one thing an account tries.
type action struct {
	name string
	do   func(ctx context.Context, cs kubernetes.Interface) error
}

var dry = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

func resourceQty(s string) *resource.Quantity { q := resource.MustParse(s); return &q }

// Namespaces of the least-privilege test: where services deploy, and
// another one kubeml was never told about.
const (
	lpWork  = "lp-models"
	lpOther = "lp-other"
)

// TestKubemlAccountsHoldOnlyWhatKubemlDoes attaches a cluster with scoped
// credentials, deploys a service as kubeml's own account, and then has
// that account and the router's try what an intruder would (server-side
// dry runs): every one must be refused, while what kubeml does works.
func TestKubemlAccountsHoldOnlyWhatKubemlDoes(t *testing.T) {
	clustertest.Require(t, env)
	detachAll(t)
	t.Cleanup(func() { detachAll(t) })
	ctx := ctxFor(t, 3*time.Minute)
	admin := env.Client
	for _, ns := range []string{lpOther, lpWork} {
		t.Cleanup(func() { admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lpOther}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := attach.ScopedKubeconfig(ctx, admin, lpWork, rc.Host, rc.CAData, rc.ServerName, rc.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's Deployments, beside kubeml's and elsewhere.
	for _, ns := range []string{lpWork, lpOther} {
		if _, err := admin.AppsV1().Deployments(ns).Create(ctx, userApp(ns), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// What kubeml does, it does as its own account.
	agent := clientFrom(t, kc)
	if r := attach.Preflight(ctx, agent, attach.PreflightOptions{Purpose: api.PurposeDevTest, Namespace: lpWork}); find(r, "RBACGranted") == nil {
		t.Fatalf("kubeml's account lacks rights it needs: %+v", r.Checks)
	}
	// The preflight says what is needed and what was found: the account
	// holds nothing in a namespace it was not given.
	r := attach.Preflight(ctx, agent, attach.PreflightOptions{Purpose: api.PurposeDevTest, Namespace: lpOther})
	if c := find(r, "RBACDenied"); c == nil || !strings.Contains(c.Message, "create deployments.apps in "+lpOther) || strings.Contains(c.Message, "in "+routing.Namespace) {
		t.Errorf("preflight for another namespace: %+v", r.Checks)
	} else {
		t.Log(c.Message[:min(len(c.Message), 160)])
	}
	a := attach.Attachment{WorkspaceID: "ws", WorkspaceName: "ws", ComputeName: "lp", ServerID: "s", Time: time.Now()}
	if err := attach.Claim(ctx, agent, a); err != nil {
		t.Fatal(err)
	}
	if _, err := attach.InstallRouter(ctx, agent, attach.Router{Image: "kubeml.local/kubeml:test", Purpose: api.PurposeDevTest}); err != nil {
		t.Fatal(err)
	}
	ws := deploy.WebService{Name: "lpsvc", Namespace: lpWork, Image: "kubeml.local/kubeml:test", ImagePullPolicy: corev1.PullNever,
		Versions: []deploy.Version{{Name: "v1", Model: tinyModel(), CPU: resource.MustParse("100m"), Memory: resource.MustParse("64Mi"), Replicas: 1}},
		Routing:  routing.Service{ScoringTimeoutMs: 1000, MaxConcurrentRequestsPerContainer: 1, Versions: []routing.Version{{Name: "v1", IsDefault: true}}}}
	if err := deploy.ApplyWebService(ctx, agent, ws, nil); err != nil {
		t.Fatal(err)
	}
	if live, err := deploy.ServiceDeployments(ctx, agent, lpWork); err != nil || len(live) != 1 {
		t.Fatalf("model deployments as kubeml's account: %v, %v", live, err)
	}
	model := "lpsvc-v1"
	// Only the router's pods may reach the model pods.
	np, err := admin.NetworkingV1().NetworkPolicies(lpWork).Get(ctx, routing.RouterModelsRole, metav1.GetOptions{})
	if err != nil || len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].PodSelector.MatchLabels[kubeobj.NameLabel] != attach.RouterName {
		t.Errorf("network policy of the model pods: %+v, %v", np, err)
	}

	// The router, by a token of its own service account.
	tr, err := admin.CoreV1().ServiceAccounts(routing.Namespace).CreateToken(ctx, routing.RouterAccount,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	routerRC := rest.Config{Host: rc.Host, BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: rc.CAData, ServerName: rc.ServerName, Insecure: rc.Insecure}}
	router := clientWith(t, routerRC)
	allowedRouter := []action{
		{"list EndpointSlices in " + lpWork, func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.DiscoveryV1().EndpointSlices(lpWork).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list EndpointSlices in kubeml-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.DiscoveryV1().EndpointSlices(routing.Namespace).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list routing Secrets", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets(routing.Namespace).List(ctx, metav1.ListOptions{LabelSelector: routing.SecretLabel + "=true"})
			return err
		}},
		{"scale the model Deployment", func(ctx context.Context, cs kubernetes.Interface) error {
			sc, err := cs.AppsV1().Deployments(lpWork).GetScale(ctx, model, metav1.GetOptions{})
			if err != nil {
				return err
			}
			sc.Spec.Replicas = 2
			_, err = cs.AppsV1().Deployments(lpWork).UpdateScale(ctx, model, sc, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
	}
	for _, act := range allowedRouter {
		if err := act.do(ctx, router); err != nil {
			t.Errorf("the router cannot %s: %v", act.name, err)
		}
	}

	nodes, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("nodes: %v", err)
	}
	node := nodes.Items[0].Name
	for _, who := range []struct {
		name    string
		cs      kubernetes.Interface
		actions []action
	}{
		{"kubeml's account", agent, agentForbidden(node)},
		{"the router", router, routerForbidden(model)},
	} {
		if len(who.actions) < 20 {
			t.Errorf("%s: only %d forbidden actions tried", who.name, len(who.actions))
		}
		for _, act := range who.actions {
			if err := act.do(ctx, who.cs); !apierrors.IsForbidden(err) {
				t.Errorf("%s may %s: %v", who.name, act.name, orAllowed(err))
			}
		}
	}
	// With the service gone, so are the router's rights and the policy.
	if err := deploy.DeleteWebService(ctx, agent, lpWork, "lpsvc"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().Roles(lpWork).Get(ctx, routing.RouterModelsRole, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the router keeps its Role in %s after the last service went: %v", lpWork, err)
	}
	if _, err := admin.NetworkingV1().NetworkPolicies(lpWork).Get(ctx, routing.RouterModelsRole, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the NetworkPolicy stays after the last service went: %v", err)
	}
	// Neither may act as anyone else.
	for name, rc := range map[string]rest.Config{"kubeml's account": *restFrom(t, kc), "the router": routerRC} {
		rc.Impersonate = rest.ImpersonationConfig{UserName: "admin", Groups: []string{"system:masters"}}
		_, err := clientWith(t, rc).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s may impersonate system:masters: %v", name, orAllowed(err))
		}
	}
}

func orAllowed(err error) error {
	if err == nil {
		return errors.New("allowed")
	}
	return err
}

func ptr[T any](v T) *T { return &v }

func clientFrom(t *testing.T, kc []byte) kubernetes.Interface {
	t.Helper()
	return clientWith(t, *restFrom(t, kc))
}

func restFrom(t *testing.T, kc []byte) *rest.Config {
	t.Helper()
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func clientWith(t *testing.T, rc rest.Config) kubernetes.Interface {
	t.Helper()
	rc.QPS, rc.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(&rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func tinyModel() deploy.ModelFile {
	data := []byte("not really a model")
	sum := sha256.Sum256(data)
	return deploy.ModelFile{Name: "m.onnx", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// userApp is a Deployment kubeml did not make.
func userApp(ns string) *appsv1.Deployment {
	l := map[string]string{"app": "user-app"}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "user-app", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "user/app:1"}}}}}}
}
