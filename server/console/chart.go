package console

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/store"
)

// A chart is a stacked bar chart drawn as SVG on the server: a bar per
// day, a segment per series. The template draws what this computes, so
// no script and no charting library reaches the browser.
type chart struct {
	Title         string
	Width, Height float64
	Bars          []bar
	Ticks         []tick // the value axis
	Labels        []tick // the day axis
	Legend        []legend
	Empty         bool
}

type bar struct {
	X, Y, W, H float64
	Color      string
	Label      string // what a screen reader and a hover say
}

type tick struct {
	Pos   float64
	Label string
}

type legend struct {
	Name, Color string
}

// palette is Okabe and Ito's, told apart by most colour-blind readers.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

const (
	chartW, chartH = 760.0, 260.0
	left, right    = 72.0, 12.0
	top, bottom    = 12.0, 36.0
)

func spendChart(r admin.UsageReport) chart {
	return drawChart("Spend per day (USD)", r, func(s admin.Series, d int) float64 { return s.Cost[d].Dollars() }, usdLabel)
}

func tokenChart(r admin.UsageReport) chart {
	return drawChart("Tokens per day (input and output)", r, func(s admin.Series, d int) float64 { return float64(s.Tokens[d]) }, countLabel)
}

func drawChart(title string, r admin.UsageReport, value func(admin.Series, int) float64, label func(float64) string) chart {
	c := chart{Title: title, Width: chartW, Height: chartH}
	n := len(r.Days)
	if n == 0 {
		c.Empty = true
		return c
	}
	totals := make([]float64, n)
	peak := 0.0
	for d := range n {
		for _, s := range r.Series {
			totals[d] += value(s, d)
		}
		peak = max(peak, totals[d])
	}
	c.Empty = peak == 0
	scale := niceCeil(peak)
	plotW, plotH := chartW-left-right, chartH-top-bottom
	for i := 0; i <= 4; i++ {
		v := scale * float64(i) / 4
		c.Ticks = append(c.Ticks, tick{Pos: top + plotH - plotH*v/scale, Label: label(v)})
	}
	step := plotW / float64(n)
	every := max(1, n/10)
	for d, day := range r.Days {
		if d%every == 0 {
			c.Labels = append(c.Labels, tick{Pos: left + step*(float64(d)+0.5), Label: day.Format("01-02")})
		}
		y := top + plotH
		for i, s := range r.Series {
			v := value(s, d)
			if v <= 0 {
				continue
			}
			h := plotH * v / scale
			y -= h
			c.Bars = append(c.Bars, bar{X: left + step*float64(d) + step*0.15, Y: y, W: step * 0.7, H: h,
				Color: palette[i%len(palette)], Label: day.Format(time.DateOnly) + " · " + s.Name + ": " + label(v)})
		}
	}
	for i, s := range r.Series {
		c.Legend = append(c.Legend, legend{Name: s.Name, Color: palette[i%len(palette)]})
	}
	return c
}

// niceCeil is the smallest 1, 2 or 5 times a power of ten at or above v.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func usdLabel(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 0.01:
		return "$" + strconv.FormatFloat(v, 'g', 2, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 2, 64)
}

func countLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"usd": func(u store.USD) string {
		return "$" + strconv.FormatFloat(u.Dollars(), 'f', -1, 64)
	},
	"usd4":  func(u store.USD) string { return "$" + strconv.FormatFloat(u.Dollars(), 'f', 4, 64) },
	"price": func(p float64) string { return "$" + strconv.FormatFloat(p, 'f', -1, 64) },
	"day": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format(time.DateOnly)
	},
	"date":  func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"num":   func(n int64) string { return thousands(n) },
	"rate": func(n int64) string {
		if n <= 0 {
			return "—"
		}
		return thousands(n)
	},
	"int64": func(n int) int64 { return int64(n) },
	"join":  strings.Join,
	"spend": func(k store.Key) string {
		if k.SpendLimit == nil {
			return "—"
		}
		return "$" + strconv.FormatFloat(k.SpendLimit.Dollars(), 'f', -1, 64) + " " + string(k.LimitReset)
	},
}

// thousands writes n with thin separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
