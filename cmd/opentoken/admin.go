package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opentoken/opentoken/admin"
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

// openAdmin opens the configured database for the admin operations the
// console performs too, as the operator (every workspace).
func openAdmin(ctx context.Context, e *env, config string) (*admin.Service, func(), error) {
	db, err := openStore(ctx, e, config)
	if err != nil {
		return nil, nil, err
	}
	return &admin.Service{Store: db}, func() { db.Close() }, nil
}

// inputError turns input the admin operations refused into a usage error.
func inputError(err error) error {
	var ie *admin.InputError
	if errors.As(err, &ie) {
		return &usageError{msg: ie.Msg}
	}
	return err
}

func defineWorkspacesCreate(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, operands []string) error {
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		w, err := a.CreateWorkspace(ctx, admin.All, operands[0])
		if err != nil {
			return inputError(err)
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
	limitUSD := fs.String("limit-usd", "", "the key's spend limit in `USD` per window")
	limitReset := fs.String("limit-reset", "", "the spend limit's `WINDOW`: daily, weekly or monthly")
	rates := rateFlags(fs)
	return func(ctx context.Context, e *env, _ []string) error {
		r := admin.KeyRequest{Workspace: *workspace, Name: *name, Expires: *expires, LimitUSD: *limitUSD, LimitReset: *limitReset,
			RPM: *rates.rpm, TPM: *rates.tpm, MaxConcurrent: *rates.maxConcurrent}
		if r.Workspace == "" || r.Name == "" {
			return &usageError{msg: "keys create needs --workspace and --name"}
		}
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		k, secret, err := a.CreateKey(ctx, admin.All, r)
		if err != nil {
			return inputError(err)
		}
		_, err = fmt.Fprintf(e.stdout, "key %d %q in workspace %s, shown by %s; its secret, shown only now:\n%s\n", k.ID, k.Name, k.Workspace, k.Prefix, secret)
		return err
	}
}

// rateFlag are the flags of a key's rate limits.
type rateFlag struct{ rpm, tpm, maxConcurrent *string }

func rateFlags(fs *flag.FlagSet) rateFlag {
	return rateFlag{
		rpm:           fs.String("rpm", "", "the key's limit of requests per minute, `N` (0 for none)"),
		tpm:           fs.String("tpm", "", "the key's limit of tokens per minute, `N`: input and output, cached input not counted (0 for none)"),
		maxConcurrent: fs.String("max-concurrent", "", "the most requests the key may have in flight, `N` (0 for none)"),
	}
}

func defineKeysUpdate(fs *flag.FlagSet) action {
	config := configFlag(fs)
	expires := fs.String("expires", "", "a new expiry: an RFC 3339 `TIME`, a number of days as 30d, or never")
	limitUSD := fs.String("limit-usd", "", "a new spend limit in `USD` per window (with --limit-reset), or none")
	limitReset := fs.String("limit-reset", "", "the spend limit's `WINDOW`: daily, weekly or monthly")
	rates := rateFlags(fs)
	return func(ctx context.Context, e *env, operands []string) error {
		c := admin.KeyChange{Expires: *expires, LimitUSD: *limitUSD, LimitReset: *limitReset, RPM: *rates.rpm, TPM: *rates.tpm, MaxConcurrent: *rates.maxConcurrent}
		if c == (admin.KeyChange{}) {
			return &usageError{msg: "keys update changes nothing without --expires, --limit-usd, --rpm, --tpm or --max-concurrent"}
		}
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		k, err := a.UpdateKey(ctx, admin.All, operands[0], c)
		if err != nil {
			return inputError(err)
		}
		_, err = fmt.Fprintf(e.stdout, "key %d %s (%s) updated: expires %s, spend limit %s, rates %s\n", k.ID, k.Prefix, k.Name, day(k.ExpiresAt), spendLimit(k), rateLimits(k.Rates))
		return err
	}
}

// spendLimit shows a key's spend limit as $2.5/weekly, "-" for none.
func spendLimit(k store.Key) string {
	if k.SpendLimit == nil {
		return "-"
	}
	return "$" + strconv.FormatFloat(k.SpendLimit.Dollars(), 'f', -1, 64) + "/" + string(k.LimitReset)
}

// rateLimits shows a key's rates as 60rpm,100000tpm,4conc, "-" for none.
func rateLimits(r store.Rates) string {
	var parts []string
	for _, p := range []struct {
		n    int64
		unit string
	}{{r.RPM, "rpm"}, {r.TPM, "tpm"}, {r.MaxConcurrent, "conc"}} {
		if p.n > 0 {
			parts = append(parts, strconv.FormatInt(p.n, 10)+p.unit)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func defineKeysList(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "list only the keys of workspace `W`")
	return func(ctx context.Context, e *env, _ []string) error {
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		keys, err := a.Keys(ctx, admin.All, *workspace)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tWORKSPACE\tNAME\tCREATED\tEXPIRES\tLIMIT\tRATES\tSTATE")
		for _, k := range keys {
			state := "active"
			switch {
			case k.RevokedAt != nil:
				state = "revoked"
			case k.ExpiresAt != nil && time.Now().After(*k.ExpiresAt):
				state = "expired"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Workspace, k.Name, day(&k.CreatedAt), day(k.ExpiresAt),
				spendLimit(k), rateLimits(k.Rates), state)
		}
		return tw.Flush()
	}
}

func defineKeysRevoke(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, operands []string) error {
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		k, err := a.RevokeKey(ctx, admin.All, operands[0])
		if err != nil {
			return inputError(err)
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
		if *workspace == "" || *usd == 0 {
			return &usageError{msg: "credits add needs --workspace and --usd"}
		}
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		bal, err := a.AddCredit(ctx, admin.All, *workspace, *usd)
		if err != nil {
			return inputError(err)
		}
		return printBalance(e, *workspace, bal)
	}
}

func defineCreditsShow(fs *flag.FlagSet) action {
	config := configFlag(fs)
	workspace := fs.String("workspace", "", "the `W`orkspace")
	return func(ctx context.Context, e *env, _ []string) error {
		if *workspace == "" {
			return &usageError{msg: "credits show needs --workspace"}
		}
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		bal, err := a.Balance(ctx, admin.All, *workspace)
		if err != nil {
			return err
		}
		return printBalance(e, *workspace, bal)
	}
}

// printBalance prints a workspace's credit.
func printBalance(e *env, workspace string, bal store.USD) error {
	_, err := fmt.Fprintf(e.stdout, "workspace %s balance $%s\n", workspace, strconv.FormatFloat(bal.Dollars(), 'f', -1, 64))
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

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

func defineWorkspacesList(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, _ []string) error {
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		list, err := a.Workspaces(ctx, admin.All)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tBALANCE USD\tKEYS\tREVOKED")
		for _, w := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\n", w.ID, w.Name, day(&w.CreatedAt), strconv.FormatFloat(w.Balance.Dollars(), 'f', -1, 64), w.Keys, w.RevokedKey)
		}
		return tw.Flush()
	}
}

func defineRequests(fs *flag.FlagSet) action {
	config := configFlag(fs)
	key := fs.Int64("key", 0, "only the key with this `ID`")
	model := fs.String("model", "", "only this `MODEL`")
	status := fs.Int("status", 0, "only answers with this HTTP `STATUS`")
	before := fs.Int64("before", 0, "the page before record `ID` (the last one a page showed)")
	limit := fs.Int("limit", 50, "at most `N` records")
	return func(ctx context.Context, e *env, _ []string) error {
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		list, next, err := a.Requests(ctx, admin.All, store.RequestFilter{KeyID: *key, Model: *model, Status: *status, Before: *before, Limit: *limit})
		if err != nil {
			return err
		}
		if next > 0 {
			defer fmt.Fprintf(e.stdout, "older: --before %d\n", next)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFINISHED\tREQUEST\tWORKSPACE\tKEY\tMODEL\tSTATUS\tPROMPT\tCOMPLETION\tCOST USD")
		for _, r := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.FinishedAt.UTC().Format(time.RFC3339), r.RequestID, r.Workspace, r.KeyPrefix,
				r.Model, r.Status, r.Prompt, r.Completion, strconv.FormatFloat(r.Cost.Dollars(), 'f', -1, 64))
		}
		return tw.Flush()
	}
}

func defineAdminTokenCreate(fs *flag.FlagSet) action {
	config := configFlag(fs)
	name := fs.String("name", "", "the token's `N`ame: who signs in with it")
	workspace := fs.String("workspace", "", "confine the token to workspace `W` (default: every workspace)")
	return func(ctx context.Context, e *env, _ []string) error {
		if *name == "" {
			return &usageError{msg: "admin-token create needs --name"}
		}
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		t, secret, err := a.CreateAdminToken(ctx, admin.All, *name, *workspace)
		if err != nil {
			return inputError(err)
		}
		scope := "every workspace"
		if t.Workspace != "" {
			scope = "workspace " + t.Workspace
		}
		_, err = fmt.Fprintf(e.stdout, "admin token %d %q for %s, shown by %s; sign in to the console with it, shown only now:\n%s\n", t.ID, t.Name, scope, t.Prefix, secret)
		return err
	}
}

func defineAdminTokenList(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, _ []string) error {
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		list, err := a.AdminTokens(ctx, admin.All)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tWORKSPACE\tCREATED\tSTATE")
		for _, t := range list {
			ws, state := t.Workspace, "active"
			if ws == "" {
				ws = "(all)"
			}
			if t.RevokedAt != nil {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Prefix, t.Name, ws, day(&t.CreatedAt), state)
		}
		return tw.Flush()
	}
}

func defineAdminTokenRevoke(fs *flag.FlagSet) action {
	config := configFlag(fs)
	return func(ctx context.Context, e *env, operands []string) error {
		id, err := strconv.ParseInt(operands[0], 10, 64)
		if err != nil {
			return &usageError{msg: fmt.Sprintf("admin-token revoke %q: give the token's id (opentoken admin-token list)", operands[0])}
		}
		a, done, err := openAdmin(ctx, e, *config)
		if err != nil {
			return err
		}
		defer done()
		t, err := a.RevokeAdminToken(ctx, admin.All, id)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "admin token %d %s (%s) revoked; its console sessions end now\n", t.ID, t.Prefix, t.Name)
		return err
	}
}
