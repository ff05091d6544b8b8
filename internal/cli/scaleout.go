package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/postgres"
)

// openScaleOutStore opens the PostgreSQL store at db, or returns nil (the
// venue's embedded SQLite default) when db is empty.
func openScaleOutStore(ctx context.Context, db string) (store.Store, error) {
	if db == "" {
		return nil, nil
	}
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		return nil, &UsageError{Msg: "--db: want a postgres:// URL"}
	}
	s, err := postgres.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("failed to open PostgreSQL store: %w", err)
	}
	return s, nil
}
