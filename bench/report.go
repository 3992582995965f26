package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Record is one line of the results file. Kind says which fields are set:
//
//	meta         the run's settings and environment (Meta)
//	load         one closed-loop run of one server (Server, Round, Concurrency, RPS, percentiles, Errors)
//	rss          one memory measure of keyhold (PayloadBytes, BaselineRSS, PeakRSS, GrowthBytes, Status)
//	latency      a sequential portal measure (Requests, percentiles, Errors)
//	coldstart    exec to the first /healthz 200 (StartsMs, MedianMs)
//	writers      the concurrent writer phase (Commits, CommitsPerSec, percentiles of the writes, Errors)
//	login_flood  one round of failed sign-ins (Concurrency workers, DurationS, Requests answered, Statuses,
//	             RPS sign-ins/s, Errors, and keyhold's RSS: BaselineRSS, PeakRSS, GrowthBytes)
//	propagation  one kind of change made through instance A and watched on instance B (PostgreSQL): Requests
//	             changes, Errors those not honoured, and the percentiles of the time from A's answer to
//	             B's first answer that honours the change
//	check        one row of the printed table (Keyhold, Bare, Ratio, Must, Pass; no Pass on an informational row)
type Record struct {
	Run         string  `json:"run"`
	Time        string  `json:"time"`
	Kind        string  `json:"kind"`
	Measure     string  `json:"measure"`
	Server      string  `json:"server,omitempty"`
	Round       int     `json:"round,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	DurationS   float64 `json:"duration_s,omitempty"`
	Requests    int     `json:"requests,omitempty"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	RPS         float64 `json:"rps,omitempty"`
	P50ms       float64 `json:"p50_ms,omitempty"`
	P99ms       float64 `json:"p99_ms,omitempty"`
	P999ms      float64 `json:"p999_ms,omitempty"`
	MaxMs       float64 `json:"max_ms,omitempty"`
	MeanMs      float64 `json:"mean_ms,omitempty"`
	Dials       int64   `json:"dials,omitempty"`
	// ServerCPUus is the server's CPU time (user+system) per successful request, in µs.
	ServerCPUus float64 `json:"server_cpu_us_per_req,omitempty"`
	// DBCPUus is the PostgreSQL server's CPU time (postmaster and backends) per successful request,
	// in µs, when the run started the server.
	DBCPUus float64 `json:"db_cpu_us_per_req,omitempty"`
	LoadAvg float64 `json:"loadavg_1m,omitempty"`

	PayloadBytes int64 `json:"payload_bytes,omitempty"`
	BaselineRSS  int64 `json:"baseline_rss_bytes,omitempty"`
	PeakRSS      int64 `json:"peak_rss_bytes,omitempty"`
	GrowthBytes  int64 `json:"growth_bytes,omitempty"`
	HWMBefore    int64 `json:"hwm_before_bytes,omitempty"`
	HWMAfter     int64 `json:"hwm_after_bytes,omitempty"`
	PeakReset    bool  `json:"peak_reset,omitempty"`
	Samples      int   `json:"rss_samples,omitempty"`
	Status       int   `json:"status,omitempty"`

	Statuses map[string]int `json:"statuses,omitempty"` // answers by HTTP status ("0": transport error)

	StartsMs []float64 `json:"starts_ms,omitempty"`
	MedianMs float64   `json:"median_ms,omitempty"`

	Commits       int     `json:"commits,omitempty"`
	CommitsPerSec float64 `json:"commits_per_s,omitempty"`

	Keyhold string   `json:"keyhold,omitempty"`
	Bare    string   `json:"bare,omitempty"`
	Ratio   *float64 `json:"ratio,omitempty"`
	Budget  string   `json:"budget,omitempty"`
	Must    string   `json:"must,omitempty"`
	Pass    *bool    `json:"pass,omitempty"`

	Meta map[string]string `json:"meta,omitempty"`
}

// check is one row of the table.
type check struct {
	Measure string
	Keyhold string
	Bare    string
	Ratio   *float64 // keyhold/bare, when the row compares the two
	Times   bool     // show Ratio as "2.1×" rather than a percentage
	Budget  string   // the ratio or budget column when there is no ratio
	Must    string
	Pass    bool
	Info    bool // a number shown beside the checks, with no must: neither PASS nor FAIL
}

// results collects the records of a run and writes each to the results file as it arrives, so that an
// interrupted run keeps what it measured.
type results struct {
	mu      sync.Mutex
	run     string
	out     *os.File
	Records []Record
	Checks  []check
	Loads   []loadRow
	// Children are the PIDs of the servers the run started (all stopped when it returns).
	Children []int
	// Notes are lines printed above the tables: what the run ran on (the PostgreSQL server).
	Notes []string
}

func (r *results) note(format string, args ...any) {
	r.mu.Lock()
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// loadRow is one server's medians over the rounds of one load measure.
type loadRow struct {
	Measure        string
	Clients        int
	Server         string
	Rounds         int
	RPS            float64
	P50, P99, P999 float64 // ms
	Errors         int
	Ratio          *float64 // keyhold/bare req/s, on keyhold's row
	CPUus          float64  // server CPU µs per request
	DBCPUus        float64  // PostgreSQL's CPU µs per request (0: not measured)
	LoadAvg        float64  // the largest 1-minute load average seen
}

func (r *results) addLoadRow(l loadRow) {
	r.mu.Lock()
	r.Loads = append(r.Loads, l)
	r.mu.Unlock()
	r.add(Record{Kind: "load_median", Measure: l.Measure, Server: l.Server, Concurrency: l.Clients, Round: l.Rounds, RPS: l.RPS,
		P50ms: l.P50, P99ms: l.P99, P999ms: l.P999, Errors: l.Errors, Ratio: l.Ratio, ServerCPUus: l.CPUus, DBCPUus: l.DBCPUus, LoadAvg: l.LoadAvg})
}

func newResults(path string) (*results, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &results{run: time.Now().UTC().Format("20060102T150405Z"), out: f}, nil
}

func (r *results) add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec.Run = r.run
	rec.Time = time.Now().UTC().Format(time.RFC3339Nano)
	r.Records = append(r.Records, rec)
	if r.out != nil {
		b, _ := json.Marshal(rec)
		r.out.Write(append(b, '\n'))
	}
}

func (r *results) addCheck(c check) {
	r.mu.Lock()
	r.Checks = append(r.Checks, c)
	r.mu.Unlock()
	var pass *bool
	if !c.Info {
		pass = &c.Pass
	}
	r.add(Record{Kind: "check", Measure: c.Measure, Keyhold: c.Keyhold, Bare: c.Bare, Ratio: c.Ratio, Budget: c.Budget, Must: c.Must, Pass: pass})
}

func (r *results) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.out == nil {
		return nil
	}
	err := r.out.Close()
	r.out = nil
	return err
}

// failed reports whether any check failed.
func (r *results) failed() bool {
	for _, c := range r.Checks {
		if !c.Info && !c.Pass {
			return true
		}
	}
	return false
}

// printTable prints the checks as the suite's summary table.
func (r *results) printTable(w io.Writer) {
	for _, n := range r.Notes {
		fmt.Fprintln(w, n)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
	}
	if len(r.Loads) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(w, "closed-loop load, medians over rounds (req/s of requests completed in the window; latency client-side):")
		// PostgreSQL's CPU is a column of its own when it was measured (a throwaway server).
		db := false
		for _, l := range r.Loads {
			db = db || l.DBCPUus > 0
		}
		dbHead := ""
		if db {
			dbHead = "PostgreSQL CPU/req\t"
		}
		fmt.Fprintln(tw, "run\tc\tserver\trounds\treq/s\tp50\tp99\tp99.9\terrors\tkeyhold/bare\tserver CPU/req\t"+dbHead+"loadavg\t")
		for _, l := range r.Loads {
			ratio := ""
			if l.Ratio != nil {
				ratio = pct(*l.Ratio)
			}
			dbCol := ""
			if db {
				dbCol = "–\t"
				if l.DBCPUus > 0 {
					dbCol = fmt.Sprintf("%.0f µs\t", l.DBCPUus)
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%.0f µs\t%s%.1f\t\n", l.Measure, l.Clients, l.Server, l.Rounds, l.RPS,
				fmtMS(l.P50), fmtMS(l.P99), fmtMS(l.P999), l.Errors, ratio, l.CPUus, dbCol, l.LoadAvg)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(r.Checks) == 0 {
		fmt.Fprintln(w, "no checks ran")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tkeyhold\tbare\tratio or budget\tmust\tresult")
	fmt.Fprintln(tw, "-------\t-------\t----\t---------------\t----\t------")
	pass, fail := 0, 0
	for _, c := range r.Checks {
		rb := c.Budget
		if c.Ratio != nil {
			rb = pct(*c.Ratio)
			if c.Times {
				rb = fmt.Sprintf("%.2f×", *c.Ratio)
			}
		}
		res := "PASS"
		if c.Info {
			res = "info"
		} else if !c.Pass {
			res = "FAIL"
			fail++
		} else {
			pass++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Measure, dash(c.Keyhold), dash(c.Bare), dash(rb), dash(c.Must), res)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d PASS, %d FAIL\n", pass, fail)
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func pct(x float64) string { return fmt.Sprintf("%.1f %%", 100*x) }

func fmtMS(x float64) string {
	switch {
	case x < 1:
		return fmt.Sprintf("%.3f ms", x)
	case x < 100:
		return fmt.Sprintf("%.2f ms", x)
	}
	return fmt.Sprintf("%.0f ms", x)
}

func fmtRPS(x float64) string { return fmt.Sprintf("%.0f req/s", x) }

// fmtRPSCPU shows a rate with the server's CPU time per request.
func fmtRPSCPU(x, cpuUS float64) string {
	if cpuUS <= 0 {
		return fmtRPS(x)
	}
	return fmt.Sprintf("%.0f req/s (%.0f µs CPU/req)", x, cpuUS)
}

// fmtMB shows bytes in MB (10^6 bytes), the unit of the budgets.
func fmtMB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func ratioOf(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	x := a / b
	return &x
}

func loadRecord(measure, server string, round int, spec loadSpec, res loadResult) Record {
	return Record{Kind: "load", Measure: measure, Server: server, Round: round, Concurrency: spec.Clients,
		DurationS: spec.Duration.Seconds(), Requests: res.Requests, Errors: res.Errors + res.WarmupErrors, FirstError: res.FirstError,
		RPS: res.RPS, P50ms: ms(res.P50), P99ms: ms(res.P99), P999ms: ms(res.P999), MaxMs: ms(res.Max), MeanMs: ms(res.Mean), Dials: res.Dials,
		ServerCPUus: cpuPerReq(res), DBCPUus: dbCPUPerReq(res), LoadAvg: res.LoadAvg}
}

// cpuPerReq is the server's CPU time per successful request in µs (0 when unknown).
func cpuPerReq(r loadResult) float64 {
	n := r.Requests - r.Errors
	if r.ServerCPU <= 0 || n <= 0 {
		return 0
	}
	return float64(r.ServerCPU.Microseconds()) / float64(n)
}

// dbCPUPerReq is the PostgreSQL server's CPU time per successful request in µs (0 when unknown).
func dbCPUPerReq(r loadResult) float64 {
	n := r.Requests - r.Errors
	if r.DBCPU <= 0 || n <= 0 {
		return 0
	}
	return float64(r.DBCPU.Microseconds()) / float64(n)
}

// logf prints a progress line.
func (e *env) logf(format string, args ...any) {
	if e.cfg.Log == nil {
		return
	}
	fmt.Fprintf(e.cfg.Log, "%s  %s\n", time.Now().Format("15:04:05.0"), strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}
