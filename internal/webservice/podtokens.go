package webservice

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/store"
)

// podTokenSecret names where a service's pod tokens are kept (sealed).
func podTokenSecret(id string) string { return id + "/podtokens" }

// podTokens returns the tokens the service's router and pods share,
// making them on first use (services deployed before kubeml had them get
// theirs on their next deploy or key change).
func (m *Manager) podTokens(ctx context.Context, sid string) (*deploy.PodTokens, error) {
	var t deploy.PodTokens
	err := m.Store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.GetSecret(ctx, podTokenSecret(sid))
		switch {
		case errors.Is(err, store.ErrNotFound):
			t = deploy.PodTokens{Current: newKey(), Next: newKey()}
			b, _ = json.Marshal(t)
			return tx.PutSecret(ctx, podTokenSecret(sid), b)
		case err != nil:
			return err
		}
		return json.Unmarshal(b, &t)
	})
	return &t, err
}

// rotatePodTokens makes the next token the current one and draws a new
// next one, in tx: the pods have held the new current token since the
// rotation before, so none refuses the router meanwhile.
func rotatePodTokens(ctx context.Context, tx store.Tx, sid string) error {
	var t deploy.PodTokens
	b, err := tx.GetSecret(ctx, podTokenSecret(sid))
	if errors.Is(err, store.ErrNotFound) {
		return nil // made with the service's next deploy
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	t = deploy.PodTokens{Current: t.Next, Next: newKey()}
	b, _ = json.Marshal(t)
	return tx.PutSecret(ctx, podTokenSecret(sid), b)
}
