package store

import (
	"context"
	"encoding/json"
)

// GetJSON reads the resource id into v.
func GetJSON(ctx context.Context, tx Tx, id string, v any) (Resource, error) {
	r, err := tx.Get(ctx, id)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(r.Body, v)
}

// PutJSON writes v as the resource id, created or replaced.
func PutJSON(ctx context.Context, tx Tx, id, typ, parent string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Put(ctx, Resource{ID: id, Type: typ, Parent: parent, Body: b}, "")
	return err
}

// CreateJSON writes v as the new resource id; ErrConflict if it exists.
func CreateJSON(ctx context.Context, tx Tx, id, typ, parent string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Create(ctx, Resource{ID: id, Type: typ, Parent: parent, Body: b})
	return err
}
