package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Ensure creates every missing file; existing valid files are kept
// (idempotent: a second call changes nothing and returns the same paths).
// A file pair is regenerated when it is missing, unparseable, expired, no
// longer signed by the CA, or issued for other names or usages than o asks
// for. If the CA is regenerated, so is every leaf. The CA and leaf keys are
// ECDSA P-256; key files are mode 0600, certificates 0644.
func Ensure(o Options) (Files, error) {
	if err := o.validate(); err != nil {
		return Files{}, fmt.Errorf("invalid PKI options: %w", err)
	}
	o = o.withDefaults()
	now := o.Now()
	if err := os.MkdirAll(o.Dir, dirMode); err != nil {
		return Files{}, fmt.Errorf("failed to create PKI directory: %w", err)
	}
	path := func(name string) string { return filepath.Join(o.Dir, name) }

	f := Files{CACert: path("ca.crt"), CAKey: path("ca.key")}
	ca, err := ensureCA(o.ClusterName, f.CACert, f.CAKey, now, o.Validity)
	if err != nil {
		return Files{}, err
	}
	for _, l := range leaves(o, &f) {
		*l.cert, *l.key = path(l.spec.name+".crt"), path(l.spec.name+".key")
		if err := ensureLeaf(l.spec, ca, *l.cert, *l.key, now, o.Validity); err != nil {
			return Files{}, err
		}
	}
	f.ServiceAccountKey, f.ServiceAccountPub = path("sa.key"), path("sa.pub")
	if err := ensureServiceAccountKey(f.ServiceAccountKey, f.ServiceAccountPub); err != nil {
		return Files{}, err
	}
	return f, nil
}

func ensureCA(clusterName, certPath, keyPath string, now time.Time, validity time.Duration) (*keyPair, error) {
	ca, err := loadPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if ca != nil && ca.cert.IsCA && ca.usable(now) && ca.cert.CheckSignatureFrom(ca.cert) == nil {
		return ca, keepPair(certPath, keyPath)
	}
	ca, err = newCA(clusterName+"-ca", now, validity)
	if err != nil {
		return nil, fmt.Errorf("failed to create CA: %w", err)
	}
	if err := writePair(ca, certPath, keyPath); err != nil {
		return nil, fmt.Errorf("failed to write CA: %w", err)
	}
	return ca, nil
}

func ensureLeaf(s certSpec, ca *keyPair, certPath, keyPath string, now time.Time, validity time.Duration) error {
	kp, err := loadPair(certPath, keyPath)
	if err != nil {
		return err
	}
	if kp != nil && kp.usable(now) && s.matches(kp.cert) && kp.cert.CheckSignatureFrom(ca.cert) == nil {
		return keepPair(certPath, keyPath)
	}
	kp, err = newLeaf(s, ca, now, validity)
	if err != nil {
		return fmt.Errorf("failed to create %s certificate: %w", s.name, err)
	}
	if err := writePair(kp, certPath, keyPath); err != nil {
		return fmt.Errorf("failed to write %s certificate: %w", s.name, err)
	}
	return nil
}

// ensureServiceAccountKey keeps a valid signing key, so that issued tokens
// stay valid, and rewrites the public key from it when that is missing or
// does not match.
func ensureServiceAccountKey(keyPath, pubPath string) error {
	keyPEM, err := readOptional(keyPath)
	if err != nil {
		return err
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		fresh, err := newKey()
		if err != nil {
			return fmt.Errorf("failed to create service account key: %w", err)
		}
		if keyPEM, err = encodeKey(fresh); err != nil {
			return err
		}
		if err := writeFileAtomic(keyPath, keyPEM, keyMode); err != nil {
			return fmt.Errorf("failed to write service account key: %w", err)
		}
		key = fresh
	} else if err := fixMode(keyPath, keyMode); err != nil {
		return err
	}
	pubPEM, err := encodePublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := writeFileAtomic(pubPath, pubPEM, certMode); err != nil {
		return fmt.Errorf("failed to write service account public key: %w", err)
	}
	return nil
}

// keepPair corrects the modes of an existing, valid pair.
func keepPair(certPath, keyPath string) error {
	return errors.Join(fixMode(keyPath, keyMode), fixMode(certPath, certMode))
}
