package pki

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig renders a kubeconfig with one cluster, user and context, all
// named clusterName, with current-context set. It embeds the CA certificate
// and the client certificate and key (not file paths), so it is
// self-contained; it is a secret and belongs in a 0600 file (see
// WriteKubeconfig).
func Kubeconfig(clusterName, server string, caCertPEM, certPEM, keyPEM []byte) ([]byte, error) {
	var errs []error
	if clusterName == "" {
		errs = append(errs, errors.New("cluster name must not be empty"))
	}
	if server == "" {
		errs = append(errs, errors.New("server must not be empty"))
	}
	if _, err := ParseCertPEM(caCertPEM); err != nil {
		errs = append(errs, fmt.Errorf("invalid CA certificate: %w", err))
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		errs = append(errs, fmt.Errorf("invalid client certificate and key: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("failed to render kubeconfig: %w", err)
	}

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: caCertPEM,
	}
	cfg.AuthInfos[clusterName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM,
		ClientKeyData:         keyPEM,
	}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: clusterName}
	cfg.CurrentContext = clusterName
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize kubeconfig: %w", err)
	}
	return out, nil
}

// KubeconfigFromFiles is Kubeconfig with the CA certificate, client
// certificate and key read from files, e.g. Files.CACert, Files.AdminCert and
// Files.AdminKey.
func KubeconfigFromFiles(clusterName, server, caCertFile, certFile, keyFile string) ([]byte, error) {
	var pems [3][]byte
	for i, path := range []string{caCertFile, certFile, keyFile} {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("failed to read kubeconfig input: %w", err)
		}
		pems[i] = data
	}
	return Kubeconfig(clusterName, server, pems[0], pems[1], pems[2])
}

// WriteKubeconfig writes a kubeconfig to path atomically with mode 0600. An
// identical existing file is left untouched (apart from its mode).
func WriteKubeconfig(path string, kubeconfig []byte) error {
	return writeFileAtomic(path, kubeconfig, keyMode)
}
