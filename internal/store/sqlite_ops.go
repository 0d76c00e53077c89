package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const operationCols = `id, kind, resource_key, status, input, error, attempts, created, updated`

func scanOperation(row scanner) (Operation, error) {
	var op Operation
	var input, opErr []byte
	var created, updated int64
	if err := row.Scan(&op.ID, &op.Kind, &op.ResourceID, &op.Status, &input, &opErr,
		&op.Attempts, &created, &updated); err != nil {
		return Operation{}, err
	}
	op.Input, op.Error = input, opErr
	op.Created, op.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return op, nil
}

// CreateOperation stores op; a zero Created/Updated is set to now.
// ErrConflict if the id exists.
func (t *sqlTx) CreateOperation(ctx context.Context, op Operation) error {
	if op.ID == "" {
		return fmt.Errorf("failed to create operation: empty id")
	}
	if op.Created.IsZero() {
		op.Created = time.Now()
	}
	if op.Updated.IsZero() {
		op.Updated = op.Created
	}
	res, err := t.q.ExecContext(ctx, `INSERT INTO operations (`+operationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		op.ID, op.Kind, op.ResourceID, op.Status, []byte(op.Input), []byte(op.Error),
		op.Attempts, op.Created.UnixNano(), op.Updated.UnixNano())
	if err != nil {
		return fmt.Errorf("failed to create operation %q: %w", op.ID, err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return fmt.Errorf("failed to create operation %q: %w", op.ID, errors.Join(ErrConflict, err))
	}
	return nil
}

// UpdateOperation replaces every field but Created; a zero Updated is set
// to now. ErrNotFound if the id is absent.
func (t *sqlTx) UpdateOperation(ctx context.Context, op Operation) error {
	if op.Updated.IsZero() {
		op.Updated = time.Now()
	}
	res, err := t.q.ExecContext(ctx, `UPDATE operations SET kind = ?, resource_key = ?, status = ?,
		input = ?, error = ?, attempts = ?, updated = ? WHERE id = ?`,
		op.Kind, op.ResourceID, op.Status, []byte(op.Input), []byte(op.Error), op.Attempts,
		op.Updated.UnixNano(), op.ID)
	if err != nil {
		return fmt.Errorf("failed to update operation %q: %w", op.ID, err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return fmt.Errorf("failed to update operation %q: %w", op.ID, errors.Join(ErrNotFound, err))
	}
	return nil
}

func (t *sqlTx) GetOperation(ctx context.Context, id string) (Operation, error) {
	op, err := scanOperation(t.q.QueryRowContext(ctx, `SELECT `+operationCols+` FROM operations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Operation{}, fmt.Errorf("failed to get operation %q: %w", id, err)
	}
	return op, nil
}

func (t *sqlTx) Operations(ctx context.Context, status string) ([]Operation, error) {
	q, args := `SELECT `+operationCols+` FROM operations`, []any{}
	if status != "" {
		q, args = q+` WHERE status = ?`, append(args, status)
	}
	rows, err := t.q.QueryContext(ctx, q+` ORDER BY created, rowid`, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list operations: %w", err)
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		op, err := scanOperation(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list operations: %w", err)
		}
		out = append(out, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list operations: %w", err)
	}
	return out, nil
}

func (t *sqlTx) SaveCheckpoint(ctx context.Context, opID, key, value string) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO operation_checkpoints (operation_id, key, value)
		SELECT id, ?, ? FROM operations WHERE id = ?
		ON CONFLICT (operation_id, key) DO UPDATE SET value = excluded.value`, key, value, opID)
	if err != nil {
		return fmt.Errorf("failed to save checkpoint %q of operation %q: %w", key, opID, err)
	}
	if ok, err := affected(res); err != nil || !ok {
		return fmt.Errorf("failed to save checkpoint %q of operation %q: %w", key, opID, errors.Join(ErrNotFound, err))
	}
	return nil
}

func (t *sqlTx) Checkpoints(ctx context.Context, opID string) (map[string]string, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT key, value FROM operation_checkpoints WHERE operation_id = ?`, opID)
	if err != nil {
		return nil, fmt.Errorf("failed to read checkpoints of operation %q: %w", opID, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("failed to read checkpoints of operation %q: %w", opID, err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read checkpoints of operation %q: %w", opID, err)
	}
	return out, nil
}
