package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kubeml/kubeml/api"
)

// segs joins path segments, escaping each.
func segs(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("/" + url.PathEscape(p))
	}
	return b.String()
}

// groupPath is a resource group's providers path for namespace.
func groupPath(sub, rg, namespace string) string {
	return segs("subscriptions", sub, "resourceGroups", rg, "providers", namespace)
}

// idPath is the request path of id.
func idPath(id api.ResourceID) string {
	p := groupPath(id.Subscription, id.ResourceGroup, id.Namespace) + segs(id.Type, id.Name)
	if id.Child != "" {
		p += segs(id.Child, id.ChildName)
	}
	return p
}

// checkID reports an id that is not of the wanted kind or misses a part.
func checkID(id api.ResourceID, namespace, typ, child string) error {
	ok := strings.EqualFold(id.Namespace, namespace) && strings.EqualFold(id.Type, typ) &&
		strings.EqualFold(id.Child, child) && id.Subscription != "" && id.ResourceGroup != "" && id.Name != "" &&
		(child == "") == (id.ChildName == "")
	if ok {
		return nil
	}
	return fmt.Errorf("%q is not a %s id", id.String(), kindName(typ, child))
}

func kindName(typ, child string) string {
	switch {
	case child != "":
		return "compute"
	case typ == "managedClusters":
		return "managed cluster"
	}
	return "workspace"
}

// page is one page of a list.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// listAll GETs path and every nextLink after it, returning all items.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	all := []T{}
	seen := map[string]bool{}
	for path != "" {
		if seen[path] {
			return nil, fmt.Errorf("list: nextLink %q repeats", path)
		}
		seen[path] = true
		var pg page[T]
		if _, err := c.Do(ctx, http.MethodGet, path, query, nil, &pg); err != nil {
			return nil, err
		}
		all = append(all, pg.Value...)
		path, query = pg.NextLink, nil
	}
	return all, nil
}
