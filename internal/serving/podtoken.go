package serving

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// PodTokens are the tokens a model pod accepts from the router: the
// current one, which the router sends, and the next one, which it will
// send after the service's next key rotation. They live in a Secret
// mounted as a directory (files "current" and "next") and are re-read as
// the kubelet updates it, so a rotation needs no restart: a pod has held
// the next token since the rotation before.
type PodTokens struct {
	dir string
	set atomic.Pointer[[2][]byte]
}

// LoadPodTokens reads the tokens in dir; "current" must be there.
func LoadPodTokens(dir string) (*PodTokens, error) {
	t := &PodTokens{dir: dir}
	if err := t.load(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *PodTokens) load() error {
	var set [2][]byte
	for i, name := range []string{"current", "next"} {
		b, err := os.ReadFile(filepath.Join(t.dir, name))
		if err != nil && !(i == 1 && errors.Is(err, os.ErrNotExist)) {
			return fmt.Errorf("failed to read the pod token: %w", err)
		}
		set[i] = []byte(strings.TrimSpace(string(b)))
	}
	if len(set[0]) == 0 {
		return fmt.Errorf("failed to read the pod token: %s is empty", filepath.Join(t.dir, "current"))
	}
	t.set.Store(&set)
	return nil
}

// Refresh re-reads the tokens every interval until ctx ends; a read that
// fails keeps the tokens it had.
func (t *PodTokens) Refresh(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = t.load()
		}
	}
}

// Allow reports whether got is one of the tokens.
func (t *PodTokens) Allow(got string) bool {
	set := t.set.Load()
	ok := 0
	for _, want := range set {
		if len(want) > 0 {
			ok |= subtle.ConstantTimeCompare([]byte(got), want)
		}
	}
	return ok == 1
}
