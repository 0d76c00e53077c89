package provider

import (
	"context"
	"fmt"
)

// Remote is implemented by providers whose clusters run elsewhere (a
// cloud). kubeml never starts such a cluster on its own: a user may have
// stopped it on purpose.
type Remote interface {
	Remote() bool
}

// Importer is implemented by providers that can attach clusters they did
// not create, found by the provider's own resource id.
type Importer interface {
	// Owns reports whether id names a cluster of this provider.
	Owns(id string) bool
	// Import reads the cluster and credentials for it: the user's
	// credentials, or the admin's when admin is set and the cluster allows
	// it.
	Import(ctx context.Context, id string, admin bool) (*Imported, error)
}

// Imported is what attach learns about a cluster kubeml did not create.
type Imported struct {
	Cluster Cluster
	// State is the provider's provisioning state ("Succeeded", ...).
	ProvisioningState string
	Pools             []Pool
	Kubeconfig        []byte
}

// Pool is one node pool of an imported cluster.
type Pool struct {
	Name   string `json:"name"`
	Count  int    `json:"count"`
	VMSize string `json:"vmSize"`
}

// CodedError is a failure the provider reports with a stable code of its
// own (e.g. Azure's "QuotaExceeded"), kept so the user sees it verbatim.
type CodedError struct {
	Code    string
	Message string
	Err     error
}

func (e *CodedError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }
func (e *CodedError) Unwrap() error { return e.Err }

// Journal keeps small state of a long provider call with the kubeml
// operation that runs it (e.g. an ARM poller's resume token), so that a
// restarted kubeml resumes the call instead of starting it again.
type Journal interface {
	Load(key string) (string, bool)
	Save(key, value string) error
}

// Journaled is implemented by providers whose long calls keep state in a
// journal (the aks provider's ARM resume tokens). WithJournal returns the
// provider bound to one operation's journal; the provider itself keeps
// none.
type Journaled interface {
	WithJournal(j Journal) Provider
}

// Bind returns p bound to j when p keeps a journal, p otherwise.
func Bind(p Provider, j Journal) Provider {
	if jp, ok := p.(Journaled); ok && j != nil {
		return jp.WithJournal(j)
	}
	return p
}

// NopJournal keeps nothing: a call made with it starts afresh.
type NopJournal = nopJournal

type nopJournal struct{}

func (nopJournal) Load(string) (string, bool) { return "", false }
func (nopJournal) Save(string, string) error  { return nil }
