package store

import (
	"context"
	"fmt"

	"crieur/board"
)

// HostedServices lists a board's services (the board orders them).
func (s *Store) HostedServices(ctx context.Context, boardID int64) ([]board.HostedService, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT slug, name, description, address, logo, position, created_at, updated_at
		FROM hosted_services WHERE board_id = ?`, boardID)
	if err != nil {
		return nil, fmt.Errorf("read services: %w", err)
	}
	defer rows.Close()
	var out []board.HostedService
	for rows.Next() {
		var h board.HostedService
		var created, updated int64
		if err := rows.Scan(&h.Slug, &h.Name, &h.Description, &h.Address, &h.Logo, &h.Position, &created, &updated); err != nil {
			return nil, fmt.Errorf("read services: %w", err)
		}
		h.CreatedAt, h.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, h)
	}
	return out, rows.Err()
}

// PutHostedService adds a service to a board, or replaces the one with
// its slug (which keeps its creation time).
func (s *Store) PutHostedService(ctx context.Context, boardID int64, h board.HostedService) error {
	_, err := s.exec(ctx, `INSERT INTO hosted_services (board_id, slug, name, description, address, logo, position, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (board_id, slug) DO UPDATE SET name = excluded.name, description = excluded.description,
			address = excluded.address, logo = excluded.logo, position = excluded.position, updated_at = excluded.updated_at`,
		boardID, h.Slug, h.Name, h.Description, h.Address, h.Logo, h.Position, ms(h.UpdatedAt), ms(h.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save service %s: %w", h.Slug, err)
	}
	return nil
}

// DeleteHostedService removes a board's service; board.ErrNotFound when
// it has none of that slug.
func (s *Store) DeleteHostedService(ctx context.Context, boardID int64, slug string) error {
	res, err := s.exec(ctx, `DELETE FROM hosted_services WHERE board_id = ? AND slug = ?`, boardID, slug)
	if err != nil {
		return fmt.Errorf("remove service %s: %w", slug, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return board.ErrNotFound
	}
	return nil
}
