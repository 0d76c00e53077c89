package webservice

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/routing"
	"github.com/kubeml/kubeml/internal/store"
)

func (m *Manager) keys(ctx context.Context, sid string) (api.ServiceKeys, error) {
	var k api.ServiceKeys
	b, err := m.Store.GetSecret(ctx, keysSecret(sid))
	if err != nil {
		return k, err
	}
	return k, json.Unmarshal(b, &k)
}

// Keys returns a service's keys.
func (m *Manager) Keys(ctx context.Context, id api.ResourceID) (*api.ServiceKeys, error) {
	s, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	k, err := m.keys(ctx, s.ID)
	return &k, err
}

// RegenerateKey replaces the primary or secondary key, in the workspace
// and at once in the cluster's router, and turns the service's pod
// tokens one step.
func (m *Manager) RegenerateKey(ctx context.Context, id api.ResourceID, keyType string) (*api.ServiceKeys, error) {
	s, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(keyType, "Primary") && !strings.EqualFold(keyType, "Secondary") {
		return nil, fault.New(fault.Invalid, "InvalidKeyType", "keyType must be Primary or Secondary, got %q", keyType)
	}
	var k api.ServiceKeys
	err = m.Store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.GetSecret(ctx, keysSecret(s.ID))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
		if strings.EqualFold(keyType, "Primary") {
			k.PrimaryKey = newKey()
		} else {
			k.SecondaryKey = newKey()
		}
		b, _ = json.Marshal(k)
		if err := tx.PutSecret(ctx, keysSecret(s.ID), b); err != nil {
			return err
		}
		return rotatePodTokens(ctx, tx, s.ID) // the router's token to its pods turns with the keys
	})
	if err != nil {
		return nil, err
	}
	if err := m.pushRouting(ctx, id, s); err != nil {
		return &k, fault.New(fault.Unavailable, "RouterUpdateFailed", "the key was changed in the workspace but the cluster's router was not told: %v; update the service to retry", err)
	}
	return &k, nil
}

// pushRouting rewrites the router's view of a service (its keys).
func (m *Manager) pushRouting(ctx context.Context, id api.ResourceID, s *api.Service) error {
	if s.Properties.ProvisioningState != api.StateSucceeded {
		return nil // the running deploy writes it
	}
	_, cs, _, err := m.Compute.ComputeClient(ctx, api.ComputeID(id.Subscription, id.ResourceGroup, id.Name, s.Properties.ComputeName))
	if err != nil {
		return err
	}
	ws, err := m.webService(ctx, workspaceOf(id), s, "") // its routing has the new keys
	if err != nil {
		return err
	}
	return deploy.UpdateRouting(ctx, cs, ws)
}

// tokenKey is the key a service's tokens are signed with.
func (m *Manager) tokenKey(ctx context.Context, sid string) ([]byte, error) {
	b, err := m.Store.GetSecret(ctx, tokenSecret(sid))
	if err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(string(b))
}

// Token returns a token for a service with token auth.
func (m *Manager) Token(ctx context.Context, id api.ResourceID) (*api.ServiceToken, error) {
	s, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p, _ := makePlan(s.Name, &s.Properties)
	if !p.Token {
		return nil, fault.New(fault.Invalid, "TokenAuthDisabled", "service %s does not use token auth (tokenAuthEnabled is false): use its keys", s.Name)
	}
	tk, err := m.tokenKey(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	now := m.Now().UTC()
	exp := now.Add(m.TokenLife)
	return &api.ServiceToken{AccessToken: routing.SignToken(tk, p.Namespace, s.Name, exp), ExpiryOn: exp, RefreshAfter: now.Add(m.TokenLife / 2)}, nil
}

// Logs returns the last lines of a version's model containers.
func (m *Manager) Logs(ctx context.Context, id api.ResourceID, version string, tail int64) (string, error) {
	s, err := m.Get(ctx, id)
	if err != nil {
		return "", err
	}
	p, _ := makePlan(s.Name, &s.Properties)
	if version == "" && len(p.Versions) > 0 {
		version = p.Versions[0].Name
		for _, v := range p.Versions {
			if v.IsDefault {
				version = v.Name
			}
		}
	}
	_, cs, _, err := m.Compute.ComputeClient(ctx, api.ComputeID(id.Subscription, id.ResourceGroup, id.Name, s.Properties.ComputeName))
	if err != nil {
		return "", err
	}
	return deploy.WebServiceLogs(ctx, cs, p.Namespace, s.Name, version, tail)
}
