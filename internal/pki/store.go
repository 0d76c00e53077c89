package pki

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	dirMode  fs.FileMode = 0o700
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
)

// readOptional reads path; a missing file yields nil data and no error.
func readOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	return data, nil
}

// loadPair reads a certificate and key. A missing or unparseable file yields
// a nil pair and no error, so that the caller regenerates it; only I/O
// failures are errors.
func loadPair(certPath, keyPath string) (*keyPair, error) {
	certPEM, err := readOptional(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readOptional(keyPath)
	if err != nil {
		return nil, err
	}
	if certPEM == nil || keyPEM == nil {
		return nil, nil
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, nil
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil
	}
	return &keyPair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// writePair writes the key (0600) and then the certificate (0644).
func writePair(kp *keyPair, certPath, keyPath string) error {
	if err := writeFileAtomic(keyPath, kp.keyPEM, keyMode); err != nil {
		return err
	}
	return writeFileAtomic(certPath, kp.certPEM, certMode)
}

// writeFileAtomic replaces path with data and mode via a temporary file in
// the same directory, so readers never see a partial file. If path already
// holds data, only its mode is corrected.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return fixMode(path, mode)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("failed to create temporary file for %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Chmod(mode), tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to rename into %s: %w", path, err)
	}
	return nil
}

// fixMode sets path's permissions to mode if they differ.
func fixMode(path string, mode fs.FileMode) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("failed to stat %s: %w", path, err)
	}
	if info.Mode().Perm() == mode {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("failed to chmod %s: %w", path, err)
	}
	return nil
}
