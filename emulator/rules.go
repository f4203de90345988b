package emulator

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// FaultsPath is where an emulator takes fault rules over HTTP, so that an
// application's own tests can make its upstream fail: POST a JSON list of
// rules to add them, DELETE to remove them all (releasing held requests),
// GET to list them.
const FaultsPath = "/emulator/faults"

// Rule is a fault given over HTTP: which requests it matches, what it does
// to them, and for how many or how long.
type Rule struct {
	// Match: every field given must hold. Model is the model's id as the
	// upstream names it (in the path or the body's "model"); Path a
	// substring of the request's path; Location a Vertex location.
	Match struct {
		Model    string `json:"model,omitempty"`
		Path     string `json:"path,omitempty"`
		Location string `json:"location,omitempty"`
	} `json:"match"`
	// One of: answer Status with Body and Headers; Reset the connection;
	// Hang until the rules are deleted; DelayFirstByte ("2s") then answer
	// as usual; StreamFailAfter events, then the upstream's in-stream
	// error (or a cut connection with StreamCut).
	Status          int               `json:"status,omitempty"`
	Body            string            `json:"body,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Reset           bool              `json:"reset,omitempty"`
	Hang            bool              `json:"hang,omitempty"`
	DelayFirstByte  string            `json:"delay_first_byte,omitempty"`
	StreamFailAfter *int              `json:"stream_fail_after,omitempty"`
	StreamCut       bool              `json:"stream_cut,omitempty"`
	// Times applies it to that many matching requests (0: no limit); For
	// ("30s") to the matching requests for that long (empty: no limit).
	Times int    `json:"times,omitempty"`
	For   string `json:"for,omitempty"`

	delay time.Duration
	until time.Time
}

// ServeFaults serves FaultsPath and reports whether the request was for
// it.
func (f *Faults) ServeFaults(ctx *fasthttp.RequestCtx) bool {
	if string(ctx.Path()) != FaultsPath {
		return false
	}
	ctx.SetContentType("application/json")
	switch {
	case ctx.IsPost():
		var rules []Rule
		if err := json.Unmarshal(ctx.PostBody(), &rules); err != nil {
			ctx.SetStatusCode(400)
			ctx.SetBodyString(`{"error":"want a JSON list of rules: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}`)
			return true
		}
		now := time.Now()
		for i := range rules {
			r := &rules[i]
			var err error
			if r.DelayFirstByte != "" {
				if r.delay, err = time.ParseDuration(r.DelayFirstByte); err != nil {
					ctx.SetStatusCode(400)
					ctx.SetBodyString(`{"error":"delay_first_byte: want a duration such as 2s"}`)
					return true
				}
			}
			if r.For != "" {
				d, err := time.ParseDuration(r.For)
				if err != nil {
					ctx.SetStatusCode(400)
					ctx.SetBodyString(`{"error":"for: want a duration such as 30s"}`)
					return true
				}
				r.until = now.Add(d)
			}
		}
		f.mu.Lock()
		f.rules = append(f.rules, rules...)
		if f.release == nil {
			f.release = make(chan struct{})
		}
		f.mu.Unlock()
		ctx.SetBodyString(`{"added":` + strconv.Itoa(len(rules)) + `}`)
	case ctx.IsDelete():
		f.mu.Lock()
		f.rules = nil
		if f.release != nil {
			close(f.release) // held requests end
			f.release = nil
		}
		f.mu.Unlock()
		ctx.SetBodyString(`{"deleted":true}`)
	default:
		f.mu.Lock()
		b, _ := json.Marshal(f.rules)
		f.mu.Unlock()
		if string(b) == "null" {
			b = []byte("[]")
		}
		ctx.SetBody(b)
	}
	return true
}

// ruleFault takes the fault of the first rule matching ctx, if any,
// counting it against the rule's times. The caller holds f.mu.
func (f *Faults) ruleFault(ctx *fasthttp.RequestCtx) (Fault, time.Duration, bool) {
	now := time.Now()
	for i := 0; i < len(f.rules); i++ {
		r := &f.rules[i]
		if !r.until.IsZero() && now.After(r.until) {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			i--
			continue
		}
		if !r.matches(ctx) {
			continue
		}
		fault := Fault{Status: r.Status, Body: r.Body, Header: r.Headers, Reset: r.Reset}
		if r.Hang {
			fault.Hang = f.release
		}
		if r.StreamFailAfter != nil {
			fault.Stream = &StreamFault{AfterEvents: *r.StreamFailAfter, Error: !r.StreamCut, Cut: r.StreamCut}
		}
		delay := r.delay
		if r.Times > 0 {
			if r.Times--; r.Times == 0 {
				f.rules = append(f.rules[:i], f.rules[i+1:]...)
			}
		}
		return fault, delay, true
	}
	return Fault{}, 0, false
}

// matches reports whether a rule's match holds for ctx.
func (r *Rule) matches(ctx *fasthttp.RequestCtx) bool {
	path := string(ctx.Path())
	if r.Match.Path != "" && !strings.Contains(path, r.Match.Path) {
		return false
	}
	if r.Match.Location != "" && !strings.Contains(path, "/locations/"+r.Match.Location+"/") {
		return false
	}
	if m := r.Match.Model; m != "" && !strings.Contains(path, "/models/"+m+":") {
		var body struct {
			Model string `json:"model"`
		}
		if json.Unmarshal(ctx.PostBody(), &body) != nil || body.Model != m {
			return false
		}
	}
	return true
}
