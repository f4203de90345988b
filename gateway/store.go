package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/opentoken/opentoken/store"
)

// DatabaseURL is the configured tenancy database, or the default: an
// SQLite file under the user's data directory, which is created.
func DatabaseURL(cfg *Config) (string, error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, nil
	}
	dir, err := dataDir()
	if err != nil {
		return "", fmt.Errorf("OPENTOKEN_DATABASE_URL is not set and there is no user data directory for the default: %w", err)
	}
	dir = filepath.Join(dir, "opentoken")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s for the default database: %w", dir, err)
	}
	return "sqlite://" + filepath.Join(dir, "opentoken.db"), nil
}

// dataDir is where per-user data lives: $XDG_DATA_HOME, else
// ~/.local/share (on macOS, ~/Library/Application Support).
func dataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return d, nil
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return os.UserConfigDir()
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	if home == "" {
		return "", errors.New("no home directory")
	}
	return filepath.Join(home, ".local", "share"), nil
}

// OpenStore opens the tenancy database and brings its schema up to date.
// A database that cannot be reached is an error naming it (without any
// password the URL holds).
func OpenStore(ctx context.Context, cfg *Config) (store.Store, error) {
	url, err := DatabaseURL(cfg)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}
