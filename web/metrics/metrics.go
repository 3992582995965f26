// Package metrics is keyhold's Prometheus instrumentation: a registry of its own (never the process's
// default one), holding the HTTP requests that web's request log observes, the store's counters (read
// from db.Store.Stats at each scrape) and the Go runtime and process collectors. Its handler is served
// on a listener of its own (--metrics-addr), never by the public server: metrics name routes and
// rates, which are no business of the people and code that use keyhold.
//
// No label holds anything a request chose: routes are echo's route patterns (/v1/secrets/:secretID),
// never a path, and an unknown method counts as OTHER. So no ID, name or token becomes a label, and
// the number of series is bounded by the route table.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyhold/keyhold/db"
)

// Source is where the store's counters come from: a *db.Store.
type Source interface {
	Stats() db.Stats
}

// Metrics is keyhold's registry and the request metrics web records into it.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
}

// durationBuckets span a fetch from the cache (well under a millisecond) to a password check (a
// tenth of a second and more) and a large upload.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the metrics of a keyhold server whose store is store.
func New(store Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhold_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyhold_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: durationBuckets,
		}, []string{"method", "route"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhold_http_rate_limited_total",
			Help: "HTTP requests refused with 429 Too Many Requests (an API key's rate, password attempts), by route pattern.",
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.rateLimited, storeCollector{store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Unmatched is the route of a request that matched no route.
const Unmatched = "unmatched"

// ObserveRequest records one answered request. route must be a route pattern or Unmatched.
func (m *Metrics) ObserveRequest(method, route string, status int, took time.Duration) {
	method = knownMethod(method)
	m.requests.WithLabelValues(method, route, statusLabel(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(took.Seconds())
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(route).Inc()
	}
}

// knownMethod is method when it is one of HTTP's, else OTHER: a client may send any token there.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// statusLabels are the labels of the statuses net/http can send, made once.
var statusLabels = func() (s [600]string) {
	for i := 100; i < len(s); i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(status int) string {
	if status >= 100 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// storeCollector reads the store's counters at each scrape.
type storeCollector struct{ store Source }

// storeMetric is one of the store's metrics: its description, its kind and its value in a Stats.
type storeMetric struct {
	desc   *prometheus.Desc
	kind   prometheus.ValueType
	value  func(db.Stats) int64
	labels []string
}

var storeMetrics = func() []storeMetric {
	counter := func(name, help string, v func(db.Stats) int64) storeMetric {
		return storeMetric{desc: prometheus.NewDesc(name, help, nil, nil), kind: prometheus.CounterValue, value: v}
	}
	cacheHits := prometheus.NewDesc("keyhold_cache_hits_total",
		"Lookups a cache answered: fetch (a secret fetched by name) and api_key (an API key's actor).", []string{"cache"}, nil)
	cacheMisses := prometheus.NewDesc("keyhold_cache_misses_total",
		"Lookups a cache could not answer, which went to the database.", []string{"cache"}, nil)
	return []storeMetric{
		counter("keyhold_secret_reads_total",
			"Secret values read: API fetches by name or ID and portal reveals, each recorded in the audit trail.",
			func(s db.Stats) int64 { return s.SecretReads }),
		counter("keyhold_audit_events_written_total",
			"Audit events of reads written into the audit trail's table by this process.",
			func(s db.Stats) int64 { return s.AuditWritten }),
		{desc: prometheus.NewDesc("keyhold_audit_events_pending",
			"Audit events of reads that are durable but not yet in the audit trail's table: SQLite's audit journal, moved every 250ms by default; always 0 on PostgreSQL.", nil, nil),
			kind: prometheus.GaugeValue, value: func(s db.Stats) int64 { return s.AuditPending }},
		counter("keyhold_commits_total",
			"Transactions of the committer, each holding a group of changes.",
			func(s db.Stats) int64 { return s.Commits }),
		counter("keyhold_commit_changes_total",
			"Changes committed in groups: divided by keyhold_commits_total, the mean group size.",
			func(s db.Stats) int64 { return s.CommitChanges }),
		counter("keyhold_commits_paced_total",
			"Commits that waited for more changes to gather while secrets were being read.",
			func(s db.Stats) int64 { return s.CommitsPaced }),
		{desc: cacheHits, kind: prometheus.CounterValue, labels: []string{"fetch"}, value: func(s db.Stats) int64 { return s.FetchCacheHits }},
		{desc: cacheMisses, kind: prometheus.CounterValue, labels: []string{"fetch"}, value: func(s db.Stats) int64 { return s.FetchCacheMisses }},
		{desc: cacheHits, kind: prometheus.CounterValue, labels: []string{"api_key"}, value: func(s db.Stats) int64 { return s.KeyCacheHits }},
		{desc: cacheMisses, kind: prometheus.CounterValue, labels: []string{"api_key"}, value: func(s db.Stats) int64 { return s.KeyCacheMisses }},
		counter("keyhold_signin_failures_total",
			"Password checks that failed (wrong password or no such account): sign-ins, invitations accepted by an existing account, password changes.",
			func(s db.Stats) int64 { return s.SignInFailures }),
	}
}()

func (storeCollector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, sm := range storeMetrics {
		if !seen[sm.desc] {
			seen[sm.desc] = true
			ch <- sm.desc
		}
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.store.Stats()
	for _, sm := range storeMetrics {
		ch <- prometheus.MustNewConstMetric(sm.desc, sm.kind, float64(sm.value(s)), sm.labels...)
	}
}
