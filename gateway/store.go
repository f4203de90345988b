package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
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

// openDatabase opens the configured database and says where it is,
// without a password. An SQLite file's directory is created when it does
// not exist, as the default's is.
func openDatabase(ctx context.Context, cfg *Config) (store.Store, string, error) {
	raw, err := DatabaseURL(cfg)
	if err != nil {
		return nil, "", err
	}
	where := raw
	if u, err := url.Parse(raw); err == nil {
		where = u.Redacted()
	}
	if path, ok := strings.CutPrefix(raw, "sqlite://"); ok && path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", fmt.Errorf("database: creating the directory of %s: %w", path, err)
		}
	}
	db, err := store.Open(ctx, raw)
	if err != nil {
		return nil, "", fmt.Errorf("database: %w", err)
	}
	return db, where, nil
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
	db, _, err := openDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

// startTenancy opens the database and starts serving the keys it holds.
// In demo mode the demo key is one of them; outside it the demo key is
// refused whatever the database holds — it is public, and would spend a
// real upstream's credit — and the log says once how to revoke it.
func (g *Gateway) startTenancy(ctx context.Context, cfg *Config, log *slog.Logger, demo bool) error {
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	var exclude []string
	if demo {
		if err := demoKey(ctx, db); err != nil {
			db.Close()
			return fmt.Errorf("database: the demo key: %w", err)
		}
	} else {
		exclude = []string{DemoKey}
		k, err := db.KeyByHash(ctx, store.HashSecret(DemoKey))
		switch {
		case err == nil && k.RevokedAt == nil:
			log.Warn("the database holds the public demo key from an earlier run in demo mode; it is refused outside demo mode. Revoke it with: opentoken keys revoke "+k.Prefix,
				"workspace", k.Workspace, "key_prefix", k.Prefix)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			db.Close()
			return fmt.Errorf("database: %w", err)
		}
	}
	url, _ := DatabaseURL(cfg)
	// Replicas share a PostgreSQL database, and reserve shares of keys'
	// rate limits in it; SQLite serves one process, which counts alone.
	shared := strings.HasPrefix(url, "postgres")
	t, err := tenancy.Start(ctx, tenancy.Options{Store: db, Log: log, SpillPath: spillPath(url), Exclude: exclude, Shared: shared})
	if err != nil {
		db.Close()
		return fmt.Errorf("database: %w", err)
	}
	g.store, g.tenancy = db, t
	return nil
}

// closeTenancy writes what is billed and closes the database.
func (g *Gateway) closeTenancy() {
	if g.tenancy != nil {
		_ = g.tenancy.Close()
		g.tenancy = nil
	}
	if g.store != nil {
		_ = g.store.Close()
		g.store = nil
	}
}

// spillPath is where usage records wait while the database is away: beside
// an SQLite file, else in the user's data directory.
func spillPath(url string) string {
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok {
		return path + ".spill.jsonl"
	}
	dir, err := dataDir()
	if err != nil {
		return "opentoken-usage.spill.jsonl"
	}
	dir = filepath.Join(dir, "opentoken")
	_ = os.MkdirAll(dir, 0o700) // an error shows when a spill is written, and is logged
	return filepath.Join(dir, "usage.spill.jsonl")
}

// demoCredit is what the demo workspace is given when it has none left.
const demoCredit = 10.0

// demoKey makes DemoKey a key of a "demo" workspace with credit, so that a
// fresh checkout answers at once, metered like any issued key.
func demoKey(ctx context.Context, db store.Store) error {
	if _, err := db.CreateWorkspace(ctx, "demo"); err != nil && !errors.Is(err, store.ErrDuplicate) {
		return err
	}
	if _, err := db.KeyByHash(ctx, store.HashSecret(DemoKey)); errors.Is(err, store.ErrNotFound) {
		if _, _, err := db.CreateKey(ctx, store.NewKey{Workspace: "demo", Name: "demo", Secret: DemoKey}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	bal, err := db.Balance(ctx, "demo")
	if err != nil {
		return err
	}
	if bal <= 0 {
		return db.AddCredit(ctx, "demo", store.FromDollars(demoCredit), "demo credit")
	}
	return nil
}

// sealingKeyName is the sealing key's name among the database's secrets.
const sealingKeyName = "responses_sealing_key"

// sealer is the Responses door's sealer: of OPENTOKEN_SEALING_KEY, else of
// a key drawn once and kept in the database, so that every replica, and
// the gateway after a restart, opens what another sealed.
func (g *Gateway) sealer(ctx context.Context, cfg *Config) (*seal.Sealer, error) {
	key := cfg.SealingKey
	if key == nil {
		text, err := g.store.Secret(ctx, sealingKeyName, func() string { return base64.StdEncoding.EncodeToString(seal.NewKey()) })
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		if key, err = seal.ParseKey(text); err != nil {
			return nil, fmt.Errorf("database: the stored sealing key: %w", err)
		}
	}
	return seal.New(key)
}

// purgeResponses removes the stored responses past their retention now
// and every hour.
func (g *Gateway) purgeResponses(log *slog.Logger) {
	purge := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if n, err := g.store.PurgeResponses(ctx, time.Now()); err != nil {
			log.Warn("purging expired stored responses failed", "err", err)
		} else if n > 0 {
			log.Info("purged expired stored responses", "count", n)
		}
	}
	purge()
	t, stop := time.NewTicker(time.Hour), make(chan struct{})
	g.stopPurge = func() { t.Stop(); close(stop) }
	go func() {
		for {
			select {
			case <-t.C:
				purge()
			case <-stop:
				return
			}
		}
	}()
}
