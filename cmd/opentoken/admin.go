package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opentoken/opentoken/gateway"
	"github.com/opentoken/opentoken/store"
)

// adminUsage is the help of the tenancy subcommands.
const adminUsage = `opentoken workspaces create NAME
opentoken keys create --workspace W --name N [--expires RFC3339|30d] [--limit-usd X --limit-reset daily|weekly|monthly]
opentoken keys list [--workspace W]
opentoken keys revoke ID-OR-PREFIX
opentoken credits add --workspace W --usd X
opentoken credits show --workspace W
opentoken usage [--workspace W] [--key K] [--since YYYY-MM-DD] [--json]

Each takes --config FILE; the database is OPENTOKEN_DATABASE_URL (default: ` + "`sqlite:///<user data dir>/opentoken/opentoken.db`" + `).`

// errUsage marks a command line that is wrong: its help follows.
var errUsage = errors.New("usage")

// admin runs a tenancy subcommand against the configured database.
func admin(ctx context.Context, command string, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
		_, err := fmt.Fprintln(out, adminUsage)
		return err
	}
	sub := ""
	if command != "usage" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("%w: %s needs a subcommand\n\n%s", errUsage, command, adminUsage)
		}
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("opentoken "+command+" "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "a TOML file whose keys are the environment variables' names")
	workspace := fs.String("workspace", "", "the workspace")
	name := fs.String("name", "", "the key's name")
	expires := fs.String("expires", "", "when the key expires: an RFC 3339 time, or a number of days as 30d")
	limitUSD := fs.Float64("limit-usd", 0, "the key's spend limit in USD per window")
	limitReset := fs.String("limit-reset", "", "the spend limit's window: daily, weekly or monthly")
	usd := fs.Float64("usd", 0, "an amount in USD")
	key := fs.String("key", "", "a key's id or prefix")
	since := fs.String("since", "", "the first day of the report, YYYY-MM-DD (UTC)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err := fmt.Fprintln(out, adminUsage)
			return err
		}
		return fmt.Errorf("%w: %v\n\n%s", errUsage, err, adminUsage)
	}
	cfg, err := gateway.Load(*config, getenv)
	if err != nil {
		return err
	}
	db, err := gateway.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	rest := fs.Args()

	switch command + " " + sub {
	case "workspaces create":
		if len(rest) != 1 {
			return fmt.Errorf("%w: workspaces create takes one NAME\n\n%s", errUsage, adminUsage)
		}
		w, err := db.CreateWorkspace(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "workspace %d %s created\n", w.ID, w.Name)
		return nil
	case "keys create":
		nk := store.NewKey{Workspace: *workspace, Name: *name}
		if nk.Workspace == "" || nk.Name == "" {
			return fmt.Errorf("%w: keys create needs --workspace and --name\n\n%s", errUsage, adminUsage)
		}
		if *expires != "" {
			t, err := parseExpiry(*expires, time.Now())
			if err != nil {
				return err
			}
			if !t.After(time.Now()) {
				return fmt.Errorf("--expires %s is in the past: the key would never work", *expires)
			}
			nk.ExpiresAt = &t
		}
		if *limitUSD != 0 || *limitReset != "" {
			r, ok := store.ParseReset(*limitReset)
			if !ok || *limitUSD <= 0 {
				return fmt.Errorf("%w: --limit-usd takes a positive amount and --limit-reset daily, weekly or monthly, both\n\n%s", errUsage, adminUsage)
			}
			l := store.FromDollars(*limitUSD)
			nk.SpendLimit, nk.LimitReset = &l, r
		}
		k, secret, err := db.CreateKey(ctx, nk)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "key %d %q in workspace %s, shown by %s; its secret, shown only now:\n%s\n", k.ID, k.Name, k.Workspace, k.Prefix, secret)
		return nil
	case "keys list":
		keys, err := db.ListKeys(ctx, *workspace)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
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
	case "keys revoke":
		if len(rest) != 1 {
			return fmt.Errorf("%w: keys revoke takes one ID-OR-PREFIX\n\n%s", errUsage, adminUsage)
		}
		k, err := db.RevokeKey(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "key %d %s (%s) revoked\n", k.ID, k.Prefix, k.Name)
		return nil
	case "credits add":
		if *workspace == "" || *usd == 0 {
			return fmt.Errorf("%w: credits add needs --workspace and --usd\n\n%s", errUsage, adminUsage)
		}
		if *usd < 0 {
			return fmt.Errorf("--usd %v: credit is added, not taken; a negative amount is refused", *usd)
		}
		if err := db.AddCredit(ctx, *workspace, store.FromDollars(*usd), "credits add"); err != nil {
			return err
		}
		fallthrough
	case "credits show":
		if *workspace == "" {
			return fmt.Errorf("%w: credits show needs --workspace\n\n%s", errUsage, adminUsage)
		}
		bal, err := db.Balance(ctx, *workspace)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "workspace %s balance $%s\n", *workspace, strconv.FormatFloat(bal.Dollars(), 'f', -1, 64))
		return nil
	case "usage ":
		f := store.UsageFilter{Workspace: *workspace, KeyPrefix: *key}
		if *since != "" {
			t, err := time.Parse("2006-01-02", *since)
			if err != nil {
				return fmt.Errorf("--since %q: want YYYY-MM-DD", *since)
			}
			f.Since = t
		}
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
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DAY\tWORKSPACE\tKEY\tMODEL\tREQUESTS\tPROMPT\tCOMPLETION\tCOST USD")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.Day, r.Workspace, r.KeyPrefix, r.Model, r.Requests, r.Prompt, r.Completion,
				strconv.FormatFloat(r.Cost.Dollars(), 'f', -1, 64))
		}
		return tw.Flush()
	}
	return fmt.Errorf("%w: unknown command %q\n\n%s", errUsage, strings.TrimSpace(command+" "+sub), adminUsage)
}

// parseExpiry reads --expires: an RFC 3339 time, or a count of days ("30d").
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: want an RFC 3339 time or a number of days such as 30d", s)
		}
		return now.Add(time.Duration(n) * 24 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--expires %q: want an RFC 3339 time or a number of days such as 30d", s)
	}
	return t, nil
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}
