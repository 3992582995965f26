package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is one closed-loop load run: c clients, each with its own keep-alive connection, each
// sending the next request as soon as it has read the last response whole.
type loadSpec struct {
	URL        string
	Header     http.Header
	Status     int // the expected status; anything else is an error
	BodyLen    int // the expected body length; -1 accepts any
	Clients    int
	Warmup     time.Duration
	Duration   time.Duration
	MaxSamples int // 0: keep every latency
	ServerPID  int // when set, the server's CPU time over the window is measured
	// URLs, when set, spread the clients over several servers (instances of keyhold on one database):
	// client i sends to URLs[i%len(URLs)], and URL is not used.
	URLs []string
	// OtherPIDs are more server processes (the other instances) whose CPU time counts with ServerPID's.
	OtherPIDs []int
	// DBPID, when set, is a PostgreSQL postmaster: the CPU time of it and its backends over the window
	// is measured too.
	DBPID int
	// Finish times every request that starts in the window, however late it ends (up to the
	// transport's 30 s response-header timeout), instead of dropping those that straddle its end:
	// when answers take seconds, a window of a few seconds would otherwise keep only the fast ones.
	Finish bool
}

// loadResult is what a run measured. Latencies are of requests that started after the warm-up and
// ended within the measured window (with Finish, of every request that started within it).
type loadResult struct {
	Requests     int
	Errors       int // wrong status, short body or transport error, in the window
	WarmupErrors int
	// Answered counts every answer as expected, the warm-up's and those straddling the window's end
	// included: the reads the server made (for the audit check).
	Answered   int
	RPS        float64
	P50, P99   time.Duration
	P999, Max  time.Duration
	Mean       time.Duration
	Dials      int64 // connections opened: Clients when keep-alive holds
	FirstError string
	Elapsed    time.Duration
	// ServerCPU is the CPU time (user+system) the server used during the window, at 10 ms resolution.
	ServerCPU time.Duration
	DBCPU     time.Duration // the same of the PostgreSQL server (DBPID)
	LoadAvg   float64       // the machine's 1-minute load average at the end
}

// newLoadTransport is the generator's HTTP/1.1 client side: a pool of exactly clients keep-alive
// connections, no compression, counting every dial.
func newLoadTransport(clients int, dials *atomic.Int64) *http.Transport {
	tr := newTransport(nil, clients, dials)
	tr.ResponseHeaderTimeout = 30 * time.Second
	return tr
}

// newTransport is a transport of at most clients connections, dialled from src (nil: any address),
// counting its dials.
func newTransport(src net.IP, clients int, dials *atomic.Int64) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        clients * 2,
		MaxIdleConnsPerHost: clients,
		MaxConnsPerHost:     clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// runLoad drives spec until its warm-up and window have passed (or ctx ends) and returns the result.
func runLoad(ctx context.Context, spec loadSpec) (loadResult, error) {
	if spec.Clients < 1 {
		return loadResult{}, fmt.Errorf("load: %d clients", spec.Clients)
	}
	var dials atomic.Int64
	tr := newLoadTransport(spec.Clients, &dials)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	t0 := start.Add(spec.Warmup)
	t1 := t0.Add(spec.Duration)

	type clientOut struct {
		lat          []time.Duration
		errs, wuErrs int
		answered     int
		firstErr     string
	}
	outs := make([]clientOut, spec.Clients)
	var wg sync.WaitGroup
	var cpu0, cpu1, db0, db1 time.Duration
	var cpuErr, dbErr error
	serverCPU := func() (time.Duration, error) {
		var sum time.Duration
		for _, pid := range append([]int{spec.ServerPID}, spec.OtherPIDs...) {
			c, err := readCPU(pid)
			if err != nil {
				return 0, err
			}
			sum += c
		}
		return sum, nil
	}
	if spec.ServerPID > 0 || spec.DBPID > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(t0))
			if spec.ServerPID > 0 {
				cpu0, cpuErr = serverCPU()
			}
			if spec.DBPID > 0 {
				db0, dbErr = readTreeCPU(spec.DBPID)
			}
			time.Sleep(time.Until(t1))
			if spec.ServerPID > 0 && cpuErr == nil {
				cpu1, cpuErr = serverCPU()
			}
			if spec.DBPID > 0 && dbErr == nil {
				db1, dbErr = readTreeCPU(spec.DBPID)
			}
		}()
	}
	for i := range spec.Clients {
		url := spec.URL
		if len(spec.URLs) > 0 {
			url = spec.URLs[i%len(spec.URLs)]
		}
		wg.Add(1)
		go func(o *clientOut) {
			defer wg.Done()
			o.lat = make([]time.Duration, 0, 4096)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				o.errs++
				o.firstErr = err.Error()
				return
			}
			req.Header = spec.Header.Clone()
			buf := make([]byte, 32<<10)
			for {
				begin := time.Now()
				if !begin.Before(t1) || ctx.Err() != nil {
					return
				}
				problem := ""
				resp, err := client.Do(req) // the request is reused only after its body is closed
				if err != nil {
					problem = err.Error()
				} else {
					n, rerr := io.CopyBuffer(io.Discard, resp.Body, buf)
					resp.Body.Close()
					switch {
					case rerr != nil:
						problem = "reading body: " + rerr.Error()
					case resp.StatusCode != spec.Status:
						problem = fmt.Sprintf("status %d, want %d", resp.StatusCode, spec.Status)
					case spec.BodyLen >= 0 && int(n) != spec.BodyLen:
						problem = fmt.Sprintf("body of %d bytes, want %d", n, spec.BodyLen)
					}
				}
				end := time.Now()
				if problem == "" {
					o.answered++
				}
				if ctx.Err() != nil {
					return
				}
				switch {
				case begin.Before(t0):
					if problem != "" {
						o.wuErrs++
						if o.firstErr == "" {
							o.firstErr = "warm-up: " + problem
						}
					}
				case end.After(t1) && !spec.Finish:
					// Straddles the end of the window: neither counted nor timed.
				case problem != "":
					o.errs++
					if o.firstErr == "" || o.errs == 1 {
						o.firstErr = problem
					}
				default:
					if spec.MaxSamples == 0 || len(o.lat) < spec.MaxSamples {
						o.lat = append(o.lat, end.Sub(begin))
					}
				}
			}
		}(&outs[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	var res loadResult
	var lat []time.Duration
	for _, o := range outs {
		lat = append(lat, o.lat...)
		res.Errors += o.errs
		res.WarmupErrors += o.wuErrs
		res.Answered += o.answered
		if res.FirstError == "" {
			res.FirstError = o.firstErr
		}
	}
	res.Requests = len(lat) + res.Errors
	res.Elapsed = spec.Duration
	res.RPS = float64(len(lat)) / spec.Duration.Seconds()
	res.Dials = dials.Load()
	if spec.ServerPID > 0 && cpuErr == nil {
		res.ServerCPU = cpu1 - cpu0
	}
	if spec.DBPID > 0 && dbErr == nil {
		res.DBCPU = db1 - db0
	}
	res.LoadAvg = loadAvg()
	fillLatency(&res, lat)
	return res, nil
}

// fillLatency sets the percentiles of lat (which it sorts).
func fillLatency(res *loadResult, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	res.P50, res.P99, res.P999 = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 0.999)
	res.Max = lat[len(lat)-1]
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	res.Mean = sum / time.Duration(len(lat))
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
