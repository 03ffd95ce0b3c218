package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/state"
)

// Bounds of batch analyses.
const (
	// analyseChunk is how many addresses one run of the detectors rates;
	// campaigns and cohorts are found within a chunk.
	analyseChunk = 1000
	// analysePage is how many stored records one read of a selection
	// takes.
	analysePage = 1000
	// analyseDefaultSince is the default window of an analysis.
	analyseDefaultSince = "24h"
)

// AnalyseIPs implements api.IPBackend: it runs the behavioural detectors
// over the named addresses and those of the selected records, a chunk at a
// time, and hands each verdict to applyVerdict, which tags the address and
// applies the detector response. An address without requests in the
// window is not tagged, so that a quiet period (a blocked attacker's) does
// not overwrite an earlier verdict. The analysis is audited once, as
// ip.analyse, even when it stops part-way (cancelled, or a chunk failed),
// since the chunks before had tagged their addresses.
func (a *App) AnalyseIPs(ctx context.Context, req api.AnalyseRequest) (*api.AnalyseResult, error) {
	began := time.Now()
	if len(req.IPs) == 0 && len(req.Status) == 0 && req.Tag == "" && req.Within == "" {
		return nil, fmt.Errorf("%w: name addresses or select records by status, tag or within", api.ErrBadRequest)
	}
	since, until, err := a.sinceUntil(cmp.Or(req.Since, analyseDefaultSince), "")
	if err != nil {
		return nil, err
	}
	out := &api.AnalyseResult{Since: since.UTC(), Until: until.UTC(), Flagged: []api.AnalysedIP{}}
	addrs, err := a.analyseTargets(ctx, req, out)
	if err != nil {
		return nil, err
	}
	total := len(addrs)
	if req.Progress != nil {
		req.Progress(0, total)
	}
	var runErr error
	if total > 0 {
		runErr = a.analyseChunks(ctx, addrs, since, until, req.Progress, out)
	}
	slices.SortFunc(out.Flagged, func(x, y api.AnalysedIP) int {
		return cmp.Or(cmp.Compare(y.Risk, x.Risk), strings.Compare(x.IP, y.IP))
	})
	out.FlaggedTotal = len(out.Flagged)
	out.Flagged = out.Flagged[:min(len(out.Flagged), api.AnalyseFlaggedMax)]
	out.ElapsedMS = float64(time.Since(began).Microseconds()) / 1000

	entry := map[string]any{
		"selection": analyseSelection(req, since), "addresses": total, "analysed": out.Analysed,
		"counts": out.Counts, "no_traffic": out.NoTraffic, "flagged": out.FlaggedTotal,
		"skipped_ranges": out.SkippedRanges, "skipped_local": out.SkippedLocal,
	}
	if runErr != nil {
		entry["error"] = runErr.Error()
	}
	// A cancelled analysis has still tagged what it analysed: the entry
	// is written regardless of ctx.
	target := "ip:none"
	if total > 0 {
		target = ipTarget(addrs)
	}
	if aerr := a.audit(context.WithoutCancel(ctx), "ip.analyse", target, nil, entry); aerr != nil {
		if runErr == nil {
			return nil, aerr
		}
		a.log.Error("audit a failed analysis", "err", aerr)
	}
	if runErr != nil {
		return nil, fmt.Errorf("analysed %d of %d addresses: %w", out.Analysed, total, runErr)
	}
	return out, nil
}

// analyseTargets resolves an analysis's addresses: the named ones, then
// those of the selected records, without duplicates, each canonical. It
// counts the skipped ranges and local addresses in out.
func (a *App) analyseTargets(ctx context.Context, req api.AnalyseRequest, out *api.AnalyseResult) ([]string, error) {
	var addrs []string
	seen := map[string]bool{}
	add := func(v string) error {
		if seen[v] {
			return nil
		}
		seen[v] = true
		if _, ok := actionable(v); !ok {
			out.SkippedLocal++
			return nil
		}
		if len(addrs) == api.MaxAnalysePerCall {
			return fmt.Errorf("%w: more than %d addresses; at most %d in one analysis (narrow the selection by status, tag or within)",
				api.ErrBadRequest, api.MaxAnalysePerCall, api.MaxAnalysePerCall)
		}
		addrs = append(addrs, v)
		return nil
	}
	for _, ip := range req.IPs {
		v, err := contain.CanonicalValue(ip)
		if err != nil {
			return nil, err
		}
		if strings.Contains(v, "/") {
			return nil, fmt.Errorf("%w: %s is a range; analyse the records inside it with within", api.ErrBadRequest, v)
		}
		if err := add(v); err != nil {
			return nil, err
		}
	}
	if len(req.Status) == 0 && req.Tag == "" && req.Within == "" {
		return addrs, nil
	}
	f := state.IPFilter{Statuses: req.Status, Tag: req.Tag, Sort: state.IPSortValue, Limit: analysePage}
	for _, st := range req.Status {
		if !state.ValidIPStatus(st) {
			return nil, fmt.Errorf("%w: status %q: want monitoring, investigating, blocked or trusted", api.ErrBadRequest, st)
		}
	}
	if req.Within != "" {
		var err error
		if f.Within, err = contain.CanonicalValue(req.Within); err != nil {
			return nil, fmt.Errorf("within: %w", err)
		}
	}
	for {
		page, err := a.state.IPs(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			if strings.Contains(r.Value, "/") {
				out.SkippedRanges++
				continue
			}
			if err := add(r.Value); err != nil {
				return nil, err
			}
		}
		f.Offset += len(page.Records)
		if len(page.Records) < analysePage || f.Offset >= page.Total {
			return addrs, nil
		}
	}
}

// analyseChunks rates addrs a chunk at a time, applies each verdict and
// reports progress after each chunk. It stops at the first failure or
// when ctx ends; out holds what was done until then.
func (a *App) analyseChunks(ctx context.Context, addrs []string, since, until time.Time, progress func(done, total int), out *api.AnalyseResult) error {
	enrich, facts := a.detectEnrich(), a.endpointFacts(ctx)
	for chunk := range slices.Chunk(addrs, analyseChunk) {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep, err := a.analyseChunk(ctx, chunk, since, until, enrich, facts)
		if err != nil {
			return err
		}
		for _, c := range rep.Callers {
			if err := ctx.Err(); err != nil {
				return err
			}
			out.Analysed++
			switch c.Severity {
			case detect.Malicious:
				out.Counts.Malicious++
			case detect.Suspicious:
				out.Counts.Suspicious++
			case detect.Benign:
				out.Counts.Benign++
			default:
				out.Counts.Inconclusive++
			}
			if c.Activity.Requests == 0 {
				out.NoTraffic++
				continue
			}
			a.applyVerdict(ctx, c)
			if c.Severity.Flagged() {
				out.Flagged = append(out.Flagged, api.AnalysedIP{IP: c.Caller.Value, Verdict: c.Verdict, Severity: c.Severity,
					Certainty: c.Certainty, Risk: c.RiskScore, Requests: c.Activity.Requests, Summary: c.Summary})
			}
		}
		if progress != nil {
			progress(out.Analysed, len(addrs))
		}
	}
	return nil
}

// analyseChunk runs the detectors over one chunk, within the time bound of
// an investigation.
func (a *App) analyseChunk(ctx context.Context, chunk []string, since, until time.Time, enrich detect.EnrichFunc, facts detect.EndpointFunc) (*detect.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, investigateTimeout)
	defer cancel()
	return detect.Investigate(ctx, a.store, detect.Options{
		Callers: chunk, Since: since, Until: until,
		Enrich: enrich, Endpoints: facts, Now: a.now,
	})
}

// analyseSelection describes an analysis's request for the audit log.
func analyseSelection(req api.AnalyseRequest, since time.Time) map[string]any {
	sel := map[string]any{"since": since.UTC().Format(time.RFC3339)}
	if len(req.IPs) > 0 {
		sel["ips"] = len(req.IPs)
	}
	if len(req.Status) > 0 {
		sel["status"] = req.Status
	}
	if req.Tag != "" {
		sel["tag"] = req.Tag
	}
	if req.Within != "" {
		sel["within"] = req.Within
	}
	return sel
}
