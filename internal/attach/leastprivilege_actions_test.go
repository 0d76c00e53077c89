package attach_test

import (
	"context"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	rbacv1client "k8s.io/client-go/kubernetes/typed/rbac/v1"

	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/routing"
)

var (
	dryDelete = metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	dryUpdate = metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	dryPatch  = metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}
)

// rootDeployment is the probe's Deployment: privileged, in the host's PID
// namespace, with the host's / mounted.
func rootDeployment(ns string) *appsv1.Deployment {
	d := userApp(ns)
	d.Name = "root"
	yes := true
	p := &d.Spec.Template.Spec
	p.HostPID, p.HostNetwork = true, true
	p.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
	p.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	p.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	return d
}

func bindTo(ns, kind, role, sa string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grab", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: routing.Namespace}}}
}

var everything = []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}

func scaleTo(ns, name string, n int32) *autoscalingv1.Scale {
	return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
}

// agentForbidden are what kubeml's own account must not do.
func agentForbidden(node string) []action {
	rbac := func(cs kubernetes.Interface) rbacv1client.RbacV1Interface { return cs.RbacV1() }
	return []action{
		{"create a privileged, hostPID Deployment mounting / in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("kube-system").Create(ctx, rootDeployment("kube-system"), dry)
			return err
		}},
		{"create a Deployment in a namespace it was not given", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments(lpOther).Create(ctx, rootDeployment(lpOther), dry)
			return err
		}},
		{"delete someone's Deployment elsewhere", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.AppsV1().Deployments(lpOther).Delete(ctx, "user-app", dryDelete)
		}},
		{"create pods in its workload namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: lpWork}, Spec: rootDeployment(lpWork).Spec.Template.Spec}
			_, err := cs.CoreV1().Pods(lpWork).Create(ctx, p, dry)
			return err
		}},
		{"exec into pods of its workload namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().RESTClient().Post().Namespace(lpWork).Resource("pods").Name("any").SubResource("exec").
				Param("command", "sh").Param("stdout", "true").Do(ctx).Error()
		}},
		{"delete the cluster-admin ClusterRoleBinding", func(ctx context.Context, cs kubernetes.Interface) error {
			return rbac(cs).ClusterRoleBindings().Delete(ctx, "cluster-admin", dryDelete)
		}},
		{"create a ClusterRole", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := rbac(cs).ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "grab"}, Rules: everything}, dry)
			return err
		}},
		{"bind itself to cluster-admin cluster-wide", func(ctx context.Context, cs kubernetes.Interface) error {
			b := bindTo("", "ClusterRole", "cluster-admin", attach.AgentName)
			_, err := rbac(cs).ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grab"}, RoleRef: b.RoleRef, Subjects: b.Subjects}, dry)
			return err
		}},
		{"widen its own ClusterRole", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := rbac(cs).ClusterRoles().Update(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: attach.AgentName}, Rules: everything}, dryUpdate)
			return err
		}},
		{"bind cluster-admin in its workload namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := rbac(cs).RoleBindings(lpWork).Create(ctx, bindTo(lpWork, "ClusterRole", "cluster-admin", attach.AgentName), dry)
			return err
		}},
		{"bind admin in kubeml-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := rbac(cs).RoleBindings(routing.Namespace).Create(ctx, bindTo(routing.Namespace, "ClusterRole", "admin", attach.AgentName), dry)
			return err
		}},
		{"create a Role granting everything in its workload namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := rbac(cs).Roles(lpWork).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "grab", Namespace: lpWork}, Rules: everything}, dry)
			return err
		}},
		{"create a namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "grab"}}, dry)
			return err
		}},
		{"delete another namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Namespaces().Delete(ctx, lpOther, dryDelete)
		}},
		{"delete kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Namespaces().Delete(ctx, "kube-system", dryDelete)
		}},
		{"delete its workload namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Namespaces().Delete(ctx, lpWork, dryDelete)
		}},
		{"label kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Namespaces().Patch(ctx, "kube-system", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), dryPatch)
			return err
		}},
		{"read Secrets in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list Secrets in every namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"read a Secret in a namespace it was not given", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets(lpOther).Get(ctx, "any", metav1.GetOptions{})
			return err
		}},
		{"scale Deployments in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("kube-system").UpdateScale(ctx, "coredns", scaleTo("kube-system", "coredns", 0), dryUpdate)
			return err
		}},
		{"mint a token for a kube-system service account", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, "default", &authnv1.TokenRequest{}, dry)
			return err
		}},
		{"update a node", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), dryPatch)
			return err
		}},
		{"delete a node", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Nodes().Delete(ctx, node, dryDelete)
		}},
		{"create a ValidatingWebhookConfiguration", func(ctx context.Context, cs kubernetes.Interface) error {
			w := &admissionregv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "grab"}}
			_, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, w, dry)
			return err
		}},
		{"create a PersistentVolume on the host's /", func(ctx context.Context, cs kubernetes.Interface) error {
			pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "grab"}, Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: *resourceQty("1Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			_, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, dry)
			return err
		}},
		{"create a PriorityClass", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "grab"}, Value: 1e9}, dry)
			return err
		}},
		{"take a Lease in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoordinationV1().Leases("kube-system").Create(ctx, &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "grab"}}, dry)
			return err
		}},
	}
}

// routerForbidden are what the router's account must not do; model is
// kubeml's model Deployment in the workload namespace.
func routerForbidden(model string) []action {
	return []action{
		{"scale someone's Deployment beside kubeml's", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments(lpWork).UpdateScale(ctx, "user-app", scaleTo(lpWork, "user-app", 5), dryUpdate)
			return err
		}},
		{"scale a Deployment in a namespace without kubeml services", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments(lpOther).UpdateScale(ctx, "user-app", scaleTo(lpOther, "user-app", 5), dryUpdate)
			return err
		}},
		{"scale Deployments in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments("kube-system").UpdateScale(ctx, "coredns", scaleTo("kube-system", "coredns", 0), dryUpdate)
			return err
		}},
		{"scale itself", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments(routing.Namespace).UpdateScale(ctx, attach.RouterName, scaleTo(routing.Namespace, attach.RouterName, 9), dryUpdate)
			return err
		}},
		{"change the model Deployment (not its scale)", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments(lpWork).Patch(ctx, model, types.MergePatchType, []byte(`{"spec":{"template":{"spec":{"hostPID":true}}}}`), dryPatch)
			return err
		}},
		{"delete the model Deployment", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.AppsV1().Deployments(lpWork).Delete(ctx, model, dryDelete)
		}},
		{"create a Deployment", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.AppsV1().Deployments(routing.Namespace).Create(ctx, rootDeployment(routing.Namespace), dry)
			return err
		}},
		{"create pods", func(ctx context.Context, cs kubernetes.Interface) error {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: lpWork}, Spec: rootDeployment(lpWork).Spec.Template.Spec}
			_, err := cs.CoreV1().Pods(lpWork).Create(ctx, p, dry)
			return err
		}},
		{"read the model pods' token Secrets", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets(lpWork).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"read kubeml's own account's token", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets(attach.AgentName).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"write a routing Secret", func(ctx context.Context, cs kubernetes.Interface) error {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: routing.SecretName("grab"), Namespace: routing.Namespace}}
			_, err := cs.CoreV1().Secrets(routing.Namespace).Create(ctx, s, dry)
			return err
		}},
		{"delete a routing Secret", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Secrets(routing.Namespace).Delete(ctx, routing.SecretName("lpsvc"), dryDelete)
		}},
		{"read Secrets in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list EndpointSlices in every namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list EndpointSlices in kube-system", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"read the attachment record", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ConfigMaps(routing.Namespace).Get(ctx, attach.AttachmentName, metav1.GetOptions{})
			return err
		}},
		{"delete its election Lease", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoordinationV1().Leases(routing.Namespace).Delete(ctx, "any", dryDelete)
		}},
		{"create a Role", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.RbacV1().Roles(lpWork).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "grab", Namespace: lpWork}, Rules: everything}, dry)
			return err
		}},
		{"widen its own Role in the workload namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.RbacV1().Roles(lpWork).Update(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: routing.RouterModelsRole, Namespace: lpWork}, Rules: everything}, dryUpdate)
			return err
		}},
		{"bind itself to cluster-admin", func(ctx context.Context, cs kubernetes.Interface) error {
			b := bindTo("", "ClusterRole", "cluster-admin", routing.RouterAccount)
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grab"}, RoleRef: b.RoleRef, Subjects: b.Subjects}, dry)
			return err
		}},
		{"delete a namespace", func(ctx context.Context, cs kubernetes.Interface) error {
			return cs.CoreV1().Namespaces().Delete(ctx, lpOther, dryDelete)
		}},
		{"list nodes", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
		{"mint a token for kubeml's account", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().ServiceAccounts(attach.AgentName).CreateToken(ctx, attach.AgentName, &authnv1.TokenRequest{}, dry)
			return err
		}},
		{"change the router's Service", func(ctx context.Context, cs kubernetes.Interface) error {
			_, err := cs.CoreV1().Services(routing.Namespace).Patch(ctx, attach.RouterName, types.MergePatchType, []byte(`{"spec":{"type":"NodePort"}}`), dryPatch)
			return err
		}},
	}
}
