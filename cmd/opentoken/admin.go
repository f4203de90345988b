package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opentoken/opentoken/gateway"
	"github.com/opentoken/opentoken/store"
)

// The tenancy commands: workspaces, keys, credit and usage, against the
// configured database (OPENTOKEN_DATABASE_URL). Each checks its command
// line before it opens the database.

// openStore opens the configured database.
func openStore(ctx context.Context, e *env, config string) (store.Store, error) {
	cfg, err := gateway.Load(config, e.getenv)
	if err != nil {
		return nil, err
	}
	return gateway.OpenStore(ctx, cfg)
}

func defineWorkspacesCreate(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, operands []string) error {
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		w, err := db.CreateWorkspace(ctx, operands[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "workspace %d %s created\n", w.ID, w.Name)
		return err
	}
}

func defineKeysCreate(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "the `W`orkspace the key spends from")
	name := fs.String("name", "", "the key's `N`ame")
	expires := fs.String("expires", "", "when the key expires: an RFC 3339 `TIME`, or a number of days as 30d")
	limitUSD := fs.Float64("limit-usd", 0, "the key's spend limit in `USD` per window")
	limitReset := fs.String("limit-reset", "", "the spend limit's `WINDOW`: daily, weekly or monthly")
	return func(ctx context.Context, e *env, _ []string) error {
		nk := store.NewKey{Workspace: *workspace, Name: *name}
		if nk.Workspace == "" || nk.Name == "" {
			return &usageError{msg: "keys create needs --workspace and --name"}
		}
		now := time.Now()
		if *expires != "" {
			t, err := parseExpiry(*expires, now)
			if err != nil {
				return err
			}
			if !t.After(now) {
				return fmt.Errorf("--expires %s is in the past: the key would never work", *expires)
			}
			nk.ExpiresAt = &t
		}
		if *limitUSD != 0 || *limitReset != "" {
			r, ok := store.ParseReset(*limitReset)
			if !ok || *limitUSD <= 0 {
				return &usageError{msg: "--limit-usd takes a positive amount and --limit-reset daily, weekly or monthly, both"}
			}
			l := store.FromDollars(*limitUSD)
			nk.SpendLimit, nk.LimitReset = &l, r
		}
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		k, secret, err := db.CreateKey(ctx, nk)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "key %d %q in workspace %s, shown by %s; its secret, shown only now:\n%s\n", k.ID, k.Name, k.Workspace, k.Prefix, secret)
		return err
	}
}

func defineKeysList(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "list only the keys of workspace `W`")
	return func(ctx context.Context, e *env, _ []string) error {
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		keys, err := db.ListKeys(ctx, *workspace)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tWORKSPACE\tNAME\tCREATED\tEXPIRES\tLIMIT\tSTATE")
		for _, k := range keys {
			state, limit := "active", "-"
			switch {
			case k.RevokedAt != nil:
				state = "revoked"
			case k.ExpiresAt != nil && time.Now().After(*k.ExpiresAt):
				state = "expired"
			}
			if k.SpendLimit != nil {
				limit = "$" + strconv.FormatFloat(k.SpendLimit.Dollars(), 'f', -1, 64) + "/" + string(k.LimitReset)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Workspace, k.Name, day(&k.CreatedAt), day(k.ExpiresAt), limit, state)
		}
		return tw.Flush()
	}
}

func defineKeysRevoke(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, operands []string) error {
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		k, err := db.RevokeKey(ctx, operands[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "key %d %s (%s) revoked\n", k.ID, k.Prefix, k.Name)
		return err
	}
}

func defineCreditsAdd(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "the `W`orkspace credited")
	usd := fs.Float64("usd", 0, "the amount in `USD`")
	return func(ctx context.Context, e *env, _ []string) error {
		switch {
		case *workspace == "" || *usd == 0:
			return &usageError{msg: "credits add needs --workspace and --usd"}
		case *usd < 0:
			return fmt.Errorf("--usd %v: credit is added, not taken; a negative amount is refused", *usd)
		}
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.AddCredit(ctx, *workspace, store.FromDollars(*usd), "credits add"); err != nil {
			return err
		}
		return showBalance(ctx, e, db, *workspace)
	}
}

func defineCreditsShow(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "the `W`orkspace")
	return func(ctx context.Context, e *env, _ []string) error {
		if *workspace == "" {
			return &usageError{msg: "credits show needs --workspace"}
		}
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		return showBalance(ctx, e, db, *workspace)
	}
}

func showBalance(ctx context.Context, e *env, db store.Store, workspace string) error {
	bal, err := db.Balance(ctx, workspace)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "workspace %s balance $%s\n", workspace, strconv.FormatFloat(bal.Dollars(), 'f', -1, 64))
	return err
}

func defineUsage(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "only workspace `W`")
	key := fs.String("key", "", "only the key with this `ID-OR-PREFIX`")
	since := fs.String("since", "", "the first `DAY` of the report, YYYY-MM-DD (UTC)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, e *env, _ []string) error {
		f := store.UsageFilter{Workspace: *workspace, KeyPrefix: *key}
		if *since != "" {
			t, err := time.Parse("2006-01-02", *since)
			if err != nil {
				return &usageError{msg: fmt.Sprintf("--since %q: want YYYY-MM-DD", *since)}
			}
			f.Since = t
		}
		db, err := openStore(ctx, e, *config)
		if err != nil {
			return err
		}
		defer db.Close()
		rows, err := db.Usage(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			type row struct {
				Day        string  `json:"day"`
				Workspace  string  `json:"workspace"`
				Key        string  `json:"key"`
				Model      string  `json:"model"`
				Requests   int64   `json:"requests"`
				Prompt     int64   `json:"prompt_tokens"`
				Completion int64   `json:"completion_tokens"`
				CostUSD    float64 `json:"cost_usd"`
			}
			list := make([]row, 0, len(rows))
			for _, r := range rows {
				list = append(list, row{r.Day, r.Workspace, r.KeyPrefix, r.Model, r.Requests, r.Prompt, r.Completion, r.Cost.Dollars()})
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DAY\tWORKSPACE\tKEY\tMODEL\tREQUESTS\tPROMPT\tCOMPLETION\tCOST USD")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.Day, r.Workspace, r.KeyPrefix, r.Model, r.Requests, r.Prompt, r.Completion,
				strconv.FormatFloat(r.Cost.Dollars(), 'f', -1, 64))
		}
		return tw.Flush()
	}
}

// parseExpiry reads --expires: an RFC 3339 time, or a count of days ("30d").
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return time.Time{}, &usageError{msg: fmt.Sprintf("--expires %q: want an RFC 3339 time or a number of days such as 30d", s)}
		}
		return now.Add(time.Duration(n) * 24 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &usageError{msg: fmt.Sprintf("--expires %q: want an RFC 3339 time or a number of days such as 30d", s)}
	}
	return t, nil
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}
