package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe_MetricsAndLogFormatDefaults: without --metrics-addr nor its variable, no metrics are
// served; the log is text.
func TestServe_MetricsAndLogFormatDefaults(t *testing.T) {
	t.Setenv("KEYHOLD_METRICS_ADDR", "")
	t.Setenv("KEYHOLD_LOG_FORMAT", "")
	var cfg config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "" || cfg.LogFormat != "text" || len(cfg.envErrs) > 0 {
		t.Fatalf("defaults: metrics at %q, log format %q, %v", cfg.MetricsAddr, cfg.LogFormat, cfg.envErrs)
	}

	t.Setenv("KEYHOLD_METRICS_ADDR", "127.0.0.1:9090")
	t.Setenv("KEYHOLD_LOG_FORMAT", "json")
	cfg = config{}
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "127.0.0.1:9090" || cfg.LogFormat != "json" {
		t.Fatalf("from the environment: metrics at %q, log format %q", cfg.MetricsAddr, cfg.LogFormat)
	}
}

// TestServe_LogFormatRefused: a --log-format or KEYHOLD_LOG_FORMAT other than text or json stops serve
// with one line, before it touches the data directory; so does a --metrics-addr that is --addr.
func TestServe_LogFormatRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"flag", "", []string{"--log-format", "xml"}, `invalid value "xml" for flag -log-format: must be text or json`},
		{"flag in capitals", "", []string{"--log-format", "JSON"}, `invalid value "JSON" for flag -log-format: must be text or json`},
		{"environment", "logfmt", nil, `KEYHOLD_LOG_FORMAT="logfmt": must be text or json`},
		{"metrics on the public address", "", []string{"--addr", "127.0.0.1:8080", "--metrics-addr", "127.0.0.1:8080"},
			"--metrics-addr must differ from --addr: the metrics are never served on the public listener"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("KEYHOLD_LOG_FORMAT", tc.env)
			}
			data := filepath.Join(t.TempDir(), "data")
			code, _, errOut := cli(t, data, "", append([]string{"serve"}, tc.args...)...)
			if code == 0 || errOut != "keyhold: "+tc.want+"\n" {
				t.Fatalf("code %d, stderr %q; want %q on one line", code, errOut, tc.want)
			}
			if _, err := os.Stat(data); err == nil {
				t.Fatal("the data directory was created")
			}
		})
	}
}

// serveInProcess runs keyhold serve in-process with args on a free --addr until the test ends, and
// returns that address and the log once /healthz answers.
func serveInProcess(t *testing.T, args ...string) (addr string, log *lockedBuffer) {
	t.Helper()
	addr, log = freeAddr(t), &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr, "--data", t.TempDir()}, args...), strings.NewReader(""), io.Discard, log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited with %d:\n%s", code, log)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop:\n%s", log)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if status, _ := httpGet("http://" + addr + "/healthz"); status == http.StatusOK {
			return addr, log
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited with %d:\n%s", code, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz:\n%s", log)
		}
	}
}

// httpGet fetches u without following redirects: its status and body, or 0 and the error.
func httpGet(u string) (int, string) {
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServe_MetricsListenerAndJSONLog runs serve with --metrics-addr and --log-format json: the
// metrics listener serves keyhold's metrics, the public one has no /metrics, and every log line is a
// JSON object, the request log's among them.
func TestServe_MetricsListenerAndJSONLog(t *testing.T) {
	metricsAddr := freeAddr(t)
	addr, log := serveInProcess(t, "--metrics-addr", metricsAddr, "--log-format", "json")
	if status, _ := httpGet("http://" + addr + "/setup"); status != http.StatusOK {
		t.Fatalf("GET /setup: %d", status)
	}
	if status, body := httpGet("http://" + addr + "/metrics"); status == http.StatusOK || strings.Contains(body, "keyhold_") {
		t.Fatalf("the public listener answers /metrics: %d", status)
	}
	status, body := httpGet("http://" + metricsAddr + "/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics on the metrics listener: %d %s", status, body)
	}
	for _, want := range []string{`keyhold_http_requests_total{method="GET",route="/setup",status="200"} 1`,
		"keyhold_secret_reads_total 0", "keyhold_audit_events_pending 0", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in the metrics:\n%s", want, body)
		}
	}
	if status, _ := httpGet("http://" + metricsAddr + "/"); status != http.StatusNotFound {
		t.Errorf("the metrics listener answers / with %d, want 404", status)
	}

	var serving, metrics, request bool
	for line := range strings.Lines(log.String()) {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		serving = serving || l["msg"] == "keyhold is serving"
		metrics = metrics || l["msg"] == "metrics are served" && l["addr"] == "http://"+metricsAddr+"/metrics"
		request = request || l["msg"] == "request" && l["route"] == "/setup" && l["status"] == float64(200)
	}
	if !serving || !metrics || !request {
		t.Errorf("the log lacks the serving line (%v), the metrics line (%v) or the request line of /setup (%v):\n%s", serving, metrics, request, log)
	}
}

// TestServe_NoMetricsByDefault: serve without --metrics-addr serves no metrics: it says none are
// served, /metrics on --addr shows none, and the log is text.
func TestServe_NoMetricsByDefault(t *testing.T) {
	t.Setenv("KEYHOLD_METRICS_ADDR", "")
	t.Setenv("KEYHOLD_LOG_FORMAT", "")
	addr, log := serveInProcess(t)
	if _, body := httpGet("http://" + addr + "/metrics"); strings.Contains(body, "keyhold_") {
		t.Fatal("the public listener shows metrics")
	}
	if out := log.String(); strings.Contains(out, "metrics are served") || !strings.HasPrefix(out, "time=") {
		t.Fatalf("log:\n%s", out)
	}
}
