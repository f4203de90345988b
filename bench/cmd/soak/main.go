// Command soak runs the gateway under a long mixed load and writes its
// report, bench/RESULTS-soak.md by default.
//
//	go run ./bench/cmd/soak -duration 10m -rate 50
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/opentoken/opentoken/bench/soak"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long the traffic runs")
	rate := flag.Int("rate", 50, "requests a second")
	pause := flag.Duration("pause-every", 30*time.Second, "a 1.6 s pause this often, leaving upstream connections stale")
	long := flag.String("long", "70s,5m", "long streams held open from the start, comma-separated durations")
	out := flag.String("out", "bench/RESULTS-soak.md", "the report")
	flag.Parse()
	var longs []time.Duration
	for _, s := range strings.Split(*long, ",") {
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			log.Fatalf("-long: %v", err)
		}
		longs = append(longs, d)
	}
	work, err := os.MkdirTemp("", "soak")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	r, err := soak.Run(soak.Config{Root: ".", Work: work, Duration: *duration, Rate: *rate, PauseEvery: *pause,
		LongStreams: longs, Sample: 10 * time.Second, Log: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	md := r.Markdown("go run ./bench/cmd/soak " + strings.Join(os.Args[1:], " "))
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(md)
	if ok, _ := r.Flat(); !ok || len(r.Unexpected) > 0 {
		os.Exit(1)
	}
}
