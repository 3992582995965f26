package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// coldStartPhase times exec to the first /healthz 200 (polled every 2 ms), on an empty data directory
// (a new one each start) and on the seeded one with --portal-secrets secrets; the median of
// --cold-starts starts each. On PostgreSQL, an empty database (a new one each start, which keyhold
// migrates) and the seeded one.
func (e *env) coldStartPhase(ctx context.Context) error {
	if err := e.ensureVisible(ctx, e.cfg.PortalSecrets); err != nil {
		return err
	}
	if err := e.stopKeyhold(); err != nil {
		return err
	}
	emptyName := "cold start to /healthz, empty data dir"
	if e.pg != nil {
		emptyName = "cold start to /healthz, empty database"
	}
	for _, m := range []struct {
		name   string
		data   func(i int) (string, error)
		budget time.Duration
	}{
		{emptyName, func(i int) (string, error) {
			if e.pg != nil {
				return e.pg.emptyDatabase(ctx, fmt.Sprintf("empty%d", i))
			}
			d := filepath.Join(e.tmp, fmt.Sprintf("empty-%d", i))
			return d, os.MkdirAll(d, 0o700)
		}, 300 * time.Millisecond},
		{fmt.Sprintf("cold start to /healthz, %s secrets", thousands(e.cfg.PortalSecrets)), func(int) (string, error) { return e.loc, nil },
			500 * time.Millisecond},
	} {
		var starts []float64
		for i := range e.cfg.ColdStarts {
			data, err := m.data(i)
			if err != nil {
				return err
			}
			p, d, err := e.startKeyhold(ctx, data)
			if err != nil {
				return err
			}
			if err := p.stop(); err != nil {
				return err
			}
			starts = append(starts, ms(d))
		}
		med := median(starts)
		e.res.add(Record{Kind: "coldstart", Measure: m.name, Server: "keyhold", StartsMs: starts, MedianMs: med})
		e.logf("%s: median %s of %v ms", m.name, fmtMS(med), starts)
		e.res.addCheck(check{Measure: m.name + ", median", Keyhold: fmt.Sprintf("%s (max %s)", fmtMS(med), fmtMS(maxOf(starts))),
			Budget: "budget " + fmtMS(ms(m.budget)), Must: "≤ " + fmtMS(ms(m.budget)), Pass: med <= ms(m.budget)})
	}
	return nil
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
