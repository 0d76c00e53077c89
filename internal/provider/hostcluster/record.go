// Package hostcluster runs the control plane of a Kubernetes cluster as
// processes on this host (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) from a state directory that records everything needed to
// find, restart or remove them. The local and simulated providers add
// nodes on top of it.
package hostcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeml/kubeml/internal/provider"
)

// Record is what a cluster's state directory says about it. It is written
// before any process starts, so a crashed create can be resumed or removed.
type Record struct {
	Spec      provider.Spec `json:"spec"`
	Provider  string        `json:"provider"`
	Ports     Ports         `json:"ports"`
	CreatedAt time.Time     `json:"createdAt"`
	// Ready is set once the first create finished.
	Ready bool `json:"ready"`
	// Node holds provider-specific node settings (bridge, subnet).
	Node json.RawMessage `json:"node,omitempty"`
}

// Ports are the loopback ports of the control plane.
type Ports struct {
	Etcd          int `json:"etcd"`
	EtcdPeer      int `json:"etcdPeer"`
	APIServer     int `json:"apiServer"`
	ControllerMgr int `json:"controllerManager"`
	Scheduler     int `json:"scheduler"`
}

const recordFile = "cluster.json"

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ValidName reports whether name can name a host cluster (a DNS label).
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: name %q must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit", provider.ErrInvalid, name)
	}
	return nil
}

// Store is the directory holding one provider's cluster state dirs.
type Store struct{ Root string }

// Dir is the state directory of the named cluster.
func (s Store) Dir(name string) string { return filepath.Join(s.Root, name) }

// Load reads a cluster's record.
func (s Store) Load(name string) (*Record, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(name), recordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", provider.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read cluster %q: %w", name, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("failed to read cluster %q: %w", name, err)
	}
	return &r, nil
}

// Save writes a cluster's record atomically.
func (s Store) Save(r *Record) error {
	dir := s.Dir(r.Spec.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to save cluster %q: %w", r.Spec.Name, err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, recordFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("failed to save cluster %q: %w", r.Spec.Name, err)
	}
	return os.Rename(tmp, filepath.Join(dir, recordFile))
}

// Names lists the clusters with a record, sorted.
func (s Store) Names() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to list clusters: %w", err)
	}
	var names []string
	for _, e := range ents {
		if ValidName(e.Name()) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Root, e.Name(), recordFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Lock takes an exclusive lock on a cluster name, so two kubeml processes
// never change one cluster at once; it waits for a holder to finish. Lock
// files live apart from the state dirs, which a delete removes.
func (s Store) Lock(name string) (unlock func(), err error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Root, ".locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to lock cluster %q: %w", name, err)
	}
	return flock(s.lockFile(name))
}

func (s Store) lockFile(name string) string { return filepath.Join(s.Root, ".locks", name+".lock") }

// RemoveLock deletes a cluster's lock file; call it holding the lock, as
// the cluster's delete ends, so that deleted clusters leave no files. A
// process waiting for the lock then finds its file gone and locks anew.
func (s Store) RemoveLock(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := os.Remove(s.lockFile(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// flock locks the file at path, creating it. The lock holds only while
// the file is still the one at path: one removed (RemoveLock) while this
// process waited is let go and path locked again.
func flock(path string) (func(), error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("failed to lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", path, err)
		}
		var held, now syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &held) == nil && syscall.Stat(path, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return func() { f.Close() }, nil
		}
		f.Close()
	}
}

// HostLock serializes allocation of host-wide resources (ports, bridges,
// subnets) between every kubeml on the machine, whatever its data dir.
func HostLock() (func(), error) {
	if err := os.MkdirAll("/run/kubeml", 0o755); err != nil {
		return flock(filepath.Join(os.TempDir(), "kubeml-host.lock"))
	}
	return flock("/run/kubeml/host.lock")
}

// FreePorts returns n distinct free loopback TCP ports.
func FreePorts(n int) ([]int, error) {
	// Below the kernel's ephemeral range: a port found free there can be
	// taken by any outgoing connection before the component binds it.
	hi := ephemeralLow() - 1
	lo := max(hi-12000, 10000)
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("failed to find %d free ports in %d-%d", n, lo, hi)
		}
		p := lo + rand.IntN(hi-lo+1)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 11000 {
				return v
			}
		}
	}
	return 32768
}
