package server_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
)

// listClusterUserCredential hands out the cluster user's credentials, not
// the admin's: a certificate outside system:masters that may read the
// cluster but not change it.
func TestTheUserCredentialIsNotTheAdmins(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	cid := s.makeCluster("creds", 1, "Standard_D3_v2")
	get := func(action string) []byte {
		code, _, body := s.call("POST", cid+"/"+action+av, nil)
		var cr api.CredentialResults
		if code != 200 || json.Unmarshal(body, &cr) != nil || len(cr.Kubeconfigs) != 1 {
			t.Fatalf("%s: %d %s", action, code, body)
		}
		return cr.Kubeconfigs[0].Value
	}
	user, admin := get("listClusterUserCredential"), get("listClusterAdminCredential")
	if string(user) == string(admin) {
		t.Fatal("the user credential is the admin's")
	}
	client := func(kc []byte) (kubernetes.Interface, []string) {
		cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(cfg.CertData)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cs, cert.Subject.Organization
	}
	uc, groups := client(user)
	if slices.Contains(groups, "system:masters") {
		t.Errorf("the user certificate's groups %v include system:masters", groups)
	}
	if _, err := uc.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the user cannot read pods: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "by-user"}}
	if _, err := uc.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Errorf("the user creating a ConfigMap: %v, want Forbidden", err)
	}
	ac, _ := client(admin)
	if _, err := ac.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the admin creating a ConfigMap: %v", err)
	}
}
