package app

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/ipintel"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

var _ api.IPBackend = (*App)(nil)

// Defaults of the IP views.
const (
	// ipTrafficWindow is how far back an IP's traffic is counted.
	ipTrafficWindow = 7 * 24 * time.Hour
	// ipHistoryLimit bounds the changes an IP's detail shows.
	ipHistoryLimit = 50
	// ipTopEndpoints is how many of an IP's endpoints its detail lists.
	ipTopEndpoints = 5
	// ipStatsChunk bounds the addresses of one traffic-stats query.
	ipStatsChunk = 1000
	// enrichedReason is the reason of the monitoring records that
	// enrichment creates.
	enrichedReason = "enriched"
)

// IPs implements api.IPBackend.
func (a *App) IPs(ctx context.Context, q api.IPQuery) (*api.IPList, error) {
	f := state.IPFilter{Statuses: q.Statuses, Tag: q.Tag, Source: q.Source, Text: q.Text, Sort: q.Sort, Desc: q.Desc, Offset: q.Offset}
	for _, st := range q.Statuses {
		if !state.ValidIPStatus(st) {
			return nil, fmt.Errorf("%w: status %q: want monitoring, investigating, blocked or trusted", api.ErrBadRequest, st)
		}
	}
	if f.Sort != "" && !slices.Contains(state.IPSortKeys, f.Sort) {
		return nil, fmt.Errorf("%w: sort %q: want one of %s", api.ErrBadRequest, f.Sort, strings.Join(state.IPSortKeys, ", "))
	}
	var err error
	if q.Within != "" {
		if f.Within, err = contain.CanonicalValue(q.Within); err != nil {
			return nil, fmt.Errorf("within: %w", err)
		}
	}
	if q.Containing != "" {
		if f.Containing, err = contain.CanonicalValue(q.Containing); err != nil {
			return nil, fmt.Errorf("containing: %w", err)
		}
	}
	if q.Expiring > 0 {
		now := a.now()
		f.ExpiresAfter, f.ExpiresBefore = now, now.Add(q.Expiring)
	}
	f.Limit = cmp.Or(q.Limit, api.IPListDefault)
	if f.Limit > api.IPListMax {
		f.Limit = api.IPListMax
	}
	page, err := a.state.IPs(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &api.IPList{IPs: make([]api.IPRecord, len(page.Records)), Total: page.Total}
	for i, r := range page.Records {
		out.IPs[i] = ipRecordOf(r)
	}
	return out, nil
}

func ipRecordOf(r state.IPRecord) api.IPRecord {
	return api.IPRecord{
		IP: r.Value, Status: r.Status, Reason: r.Reason, Source: r.Source, Severity: r.Severity,
		Tags: state.NormalizeTags(r.Tags), Notes: r.Notes, ExpiresAt: r.ExpiresAt.UTC(),
		CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Enrichment: json.RawMessage(r.Enrichment), EnrichedAt: r.EnrichedAt.UTC(),
		FirstSeen: r.FirstSeen.UTC(), LastSeen: r.LastSeen.UTC(), Requests: r.RequestCount, Bytes: r.ByteCount,
	}
}

func ipStateOf(s *state.IPState) *api.IPState {
	if s == nil {
		return nil
	}
	return &api.IPState{Status: s.Status, Reason: s.Reason, Source: s.Source, Severity: s.Severity,
		Tags: state.NormalizeTags(s.Tags), Notes: s.Notes, ExpiresAt: s.ExpiresAt.UTC()}
}

// ipActive reports whether a record's status is in force at now.
func ipActive(r state.IPRecord, now time.Time) bool {
	return r.ExpiresAt.IsZero() || r.ExpiresAt.After(now)
}

// IP implements api.IPBackend.
func (a *App) IP(ctx context.Context, ip string, window time.Duration) (*api.IPDetail, error) {
	value, err := contain.CanonicalValue(ip)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := &api.IPDetail{IPRecord: api.IPRecord{IP: value, Tags: []string{}}, CoveredBy: []api.IPCover{}}
	rec, err := a.state.IP(ctx, value)
	switch {
	case err == nil:
		out.IPRecord, out.Tracked = ipRecordOf(rec), true
	case !errors.Is(err, state.ErrNotFound):
		return nil, err
	}
	covering, err := a.state.IPs(ctx, state.IPFilter{Containing: value, Sort: state.IPSortValue})
	if err != nil {
		return nil, err
	}
	var trusted, blocked bool
	if out.Tracked && ipActive(rec, now) {
		trusted, blocked = rec.Status == state.IPTrusted, rec.Status == state.IPBlocked
	}
	for _, r := range covering.Records {
		if r.Value == value {
			continue
		}
		out.CoveredBy = append(out.CoveredBy, api.IPCover{IP: r.Value, Status: r.Status, Reason: r.Reason, ExpiresAt: r.ExpiresAt.UTC()})
		if ipActive(r, now) {
			trusted = trusted || r.Status == state.IPTrusted
			blocked = blocked || r.Status == state.IPBlocked
		}
	}
	switch {
	case trusted:
		out.Effective = state.IPTrusted
	case blocked:
		out.Effective = state.IPBlocked
	case out.Tracked && ipActive(rec, now):
		out.Effective = rec.Status
	case out.Tracked:
		out.Effective = state.IPMonitoring // expired, not yet swept
	default:
		out.Effective = "none"
	}
	changes, err := a.state.IPChanges(ctx, state.IPChangeFilter{Value: value, Limit: ipHistoryLimit})
	if err != nil {
		return nil, err
	}
	out.History = make([]api.IPChange, len(changes))
	for i, c := range changes {
		out.History[i] = ipChangeOf(c)
	}
	if out.Traffic, err = a.ipTraffic(ctx, value, cmp.Or(window, ipTrafficWindow), now); err != nil {
		return nil, err
	}
	return out, nil
}

func ipChangeOf(c state.IPChange) api.IPChange {
	out := api.IPChange{ID: c.ID, At: c.At.UTC(), Actor: c.Actor, Reason: c.Reason, Action: c.Action, Source: c.Source,
		Shadow: c.Shadow, UndoOf: c.UndoOf, UndoneBy: c.UndoneBy, Items: make([]api.IPChangeItem, len(c.Items))}
	for i, it := range c.Items {
		out.Items[i] = api.IPChangeItem{IP: it.Value, Before: ipStateOf(it.Before), After: ipStateOf(it.After)}
	}
	return out
}

// peerCondition matches a canonical value against peer_ip: equality for an
// address, a range test for a CIDR.
func peerCondition(value string) (string, any) {
	if strings.Contains(value, "/") {
		return "isIPAddressInRange(peer_ip, ?)", value
	}
	return "peer_ip = ?", value
}

// ipTraffic counts what the trace store saw of value in the window.
func (a *App) ipTraffic(ctx context.Context, value string, window time.Duration, now time.Time) (api.IPTraffic, error) {
	out := api.IPTraffic{Since: now.Add(-window).UTC(), Until: now.UTC(), TopEndpoints: []api.EndpointUse{}}
	cond, arg := peerCondition(value)
	where := "timestamp >= ? AND timestamp <= ? AND span_kind = 'Server' AND " + cond
	args := []any{now.Add(-window), now, arg}
	res, err := a.store.Query(ctx, `SELECT count() AS requests, sum(response_bytes) AS response_bytes, sum(request_bytes) AS request_bytes,
  min(timestamp) AS first_seen, max(timestamp) AS last_seen,
  countIf(status_code >= 400 AND status_code < 500) AS client_errors, countIf(status_code >= 500) AS server_errors,
  count(DISTINCT CASE WHEN api_key_id <> '' THEN api_key_id END) AS api_keys, count(DISTINCT http_path) AS endpoints
FROM traces
WHERE `+where, store.QueryOptions{Timeout: sqlTimeout}, args...)
	if err != nil {
		return out, fmt.Errorf("traffic of %s: %w", value, err)
	}
	if len(res.Rows) == 1 {
		r := res.Rows[0]
		out.Requests, out.ResponseBytes, out.RequestBytes = num(r[0]), num(r[1]), num(r[2])
		out.FirstSeen, out.LastSeen = tm(r[3]), tm(r[4])
		out.ClientErrors, out.ServerErrors, out.APIKeys, out.Endpoints = num(r[5]), num(r[6]), num(r[7]), num(r[8])
	}
	if out.Requests == 0 {
		return out, nil
	}
	res, err = a.store.Query(ctx, `SELECT http_method, http_path, count() AS requests, sum(response_bytes) AS bytes
FROM traces
WHERE `+where+`
GROUP BY http_method, http_path
ORDER BY requests DESC, http_path, http_method
LIMIT ?`, store.QueryOptions{Timeout: sqlTimeout}, append(args, ipTopEndpoints)...)
	if err != nil {
		return out, fmt.Errorf("endpoints of %s: %w", value, err)
	}
	for _, r := range res.Rows {
		out.TopEndpoints = append(out.TopEndpoints, api.EndpointUse{Method: str(r[0]), Path: str(r[1]), Requests: num(r[2]), Bytes: num(r[3])})
	}
	return out, nil
}

// SetIPStatus implements api.IPBackend.
func (a *App) SetIPStatus(ctx context.Context, req api.IPStatusRequest) (*api.IPStatusResult, error) {
	if (req.Status == state.IPBlocked || req.Status == state.IPTrusted) && strings.TrimSpace(req.Reason) == "" {
		return nil, fmt.Errorf("%w: a reason is required to set %s (it goes to the audit log and to the bouncers)", api.ErrBadRequest, req.Status)
	}
	var d time.Duration
	if req.For != "" {
		var err error
		if d, err = config.ParseDuration(req.For); err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: for %q: want a positive duration such as 24h or 7d", api.ErrBadRequest, req.For)
		}
	}
	actor := auth.FromContext(ctx).Actor()
	res, err := a.contain.Set(ctx, contain.SetRequest{IPs: req.IPs, Status: req.Status, Duration: d, Reason: req.Reason,
		Actor: actor, Severity: req.Severity, Tags: req.Tags})
	if err != nil && res.ChangeID == 0 {
		return nil, err
	}
	out := &api.IPStatusResult{ChangeID: res.ChangeID, Status: req.Status,
		Changed: ipNonNil(res.Changed), Unchanged: ipNonNil(res.Unchanged)}
	if res.ChangeID != 0 {
		if d > 0 {
			// The change's own time: what contain stored.
			if c, cerr := a.state.IPChange(ctx, res.ChangeID); cerr == nil && len(c.Items) > 0 && c.Items[0].After != nil {
				out.ExpiresAt = c.Items[0].After.ExpiresAt.UTC()
			}
		}
		if aerr := a.audit(ctx, "ip.set", ipTarget(res.Changed), nil, out); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		// Applied, but the decisions sync failed: the sweeper retries.
		return nil, fmt.Errorf("change %d applied; %w", res.ChangeID, err)
	}
	return out, nil
}

// ipNonNil returns s, or an empty slice for nil, so JSON shows [].
func ipNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ipTarget names the values of a change in the audit log.
func ipTarget(values []string) string {
	const shown = 5
	if len(values) <= shown {
		return "ip:" + strings.Join(values, ",")
	}
	return fmt.Sprintf("ip:%s and %d more", strings.Join(values[:shown], ","), len(values)-shown)
}

// UndoIPChange implements api.IPBackend.
func (a *App) UndoIPChange(ctx context.Context, changeID int64) (*api.IPUndoResult, error) {
	id, err := a.contain.Undo(ctx, changeID, auth.FromContext(ctx).Actor())
	if err != nil && id == 0 {
		return nil, err
	}
	out := &api.IPUndoResult{ChangeID: id, UndoOf: changeID}
	if aerr := a.audit(ctx, "ip.undo", "ip_change:"+strconv.FormatInt(changeID, 10), nil, out); aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return nil, fmt.Errorf("change %d applied; %w", id, err)
	}
	return out, nil
}

// EnrichIPs implements api.IPBackend.
func (a *App) EnrichIPs(ctx context.Context, req api.EnrichRequest) (*api.EnrichResult, error) {
	if len(req.IPs) == 0 {
		return nil, fmt.Errorf("%w: no address to enrich", api.ErrBadRequest)
	}
	addrs, err := ipintel.ExpandTargets(req.IPs, api.MaxEnrichPerCall)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (at most %d addresses per call)", api.ErrBadRequest, err, api.MaxEnrichPerCall)
	}
	e, err := a.enricher()
	if err != nil {
		return nil, fmt.Errorf("open IP enrichment sources: %w", err)
	}
	recs, err := e.Enrich(ctx, addrs, nil)
	if recs == nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	out := &api.EnrichResult{Records: make([]json.RawMessage, len(recs)), Sources: e.SourceNames()}
	if err != nil {
		out.Warning = err.Error()
		a.log.Warn("ip enrichment source problem", "err", err)
	}
	values := make([]string, len(addrs))
	for i, addr := range addrs {
		values[i] = addr.Unmap().String()
	}
	existing, err := a.state.LookupIPs(ctx, values)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, v := range values {
		if _, ok := existing[v]; !ok {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		res, err := a.contain.Set(ctx, contain.SetRequest{IPs: missing, Status: state.IPMonitoring, Reason: enrichedReason,
			Actor: auth.FromContext(ctx).Actor(), IfAbsent: true})
		if err != nil && res.ChangeID == 0 {
			return nil, err
		}
		out.Created = len(res.Changed)
	}
	at := a.now()
	for i, rec := range recs {
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		out.Records[i] = b
		if err := a.state.SetIPEnrichment(ctx, values[i], b, at); err != nil && !errors.Is(err, state.ErrNotFound) {
			return nil, fmt.Errorf("store enrichment of %s: %w", values[i], err)
		}
	}
	if out.StatsUpdated, err = a.refreshIPStats(ctx, addrs, at); err != nil {
		return nil, err
	}
	if err := a.audit(ctx, "ip.enrich", ipTarget(values), nil, map[string]int{"addresses": len(values), "created": out.Created}); err != nil {
		return nil, err
	}
	return out, nil
}

// refreshIPStats folds the traffic of addrs over the retention period into
// their records.
func (a *App) refreshIPStats(ctx context.Context, addrs []netip.Addr, now time.Time) (int, error) {
	since := now.Add(-cmp.Or(time.Duration(a.cfg.Retention), 30*24*time.Hour))
	updated := 0
	for chunk := range slices.Chunk(addrs, ipStatsChunk) {
		args := []any{since, now}
		for _, addr := range chunk {
			args = append(args, addr.Unmap().String())
		}
		res, err := a.store.Query(ctx, `SELECT peer_ip, min(timestamp) AS first_seen, max(timestamp) AS last_seen,
  count() AS requests, sum(response_bytes) AS bytes
FROM traces
WHERE timestamp >= ? AND timestamp <= ? AND span_kind = 'Server' AND peer_ip IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)
GROUP BY peer_ip`, store.QueryOptions{Timeout: sqlTimeout}, args...)
		if err != nil {
			return updated, fmt.Errorf("traffic stats: %w", err)
		}
		stats := make([]state.IPStats, 0, len(res.Rows))
		for _, r := range res.Rows {
			stats = append(stats, state.IPStats{Value: str(r[0]), FirstSeen: tm(r[1]), LastSeen: tm(r[2]), RequestCount: num(r[3]), ByteCount: num(r[4])})
		}
		if len(stats) == 0 {
			continue
		}
		n, err := a.state.UpdateIPStats(ctx, stats)
		if err != nil {
			return updated, err
		}
		updated += n
	}
	return updated, nil
}

// Blocklist implements api.IPBackend.
func (a *App) Blocklist(ctx context.Context, format string) (*api.BlocklistExport, error) {
	f, err := contain.ParseFormat(format)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	rep, err := a.contain.ExportCurrent(ctx, &buf, f, contain.ExportOptions{})
	if err != nil {
		return nil, err
	}
	ct := "text/plain; charset=utf-8"
	if f == contain.FormatAWSWAFv2 || f == contain.FormatCloudflare {
		ct = "application/json"
	}
	return &api.BlocklistExport{Format: string(f), ContentType: ct, Entries: rep.Entries, Exported: rep.Exported,
		LeftOut: rep.LeftOut, Warnings: ipNonNil(rep.Warnings), Body: buf.Bytes()}, nil
}

// DecisionsHandler serves the CrowdSec decisions API that bouncers pull;
// the API mounts it at /v1/decisions with the bouncers' own key auth.
func (a *App) DecisionsHandler() http.Handler { return a.contain.DecisionsHandler() }

func bouncerOf(b state.Bouncer) api.Bouncer {
	return api.Bouncer{Name: b.Name, CreatedAt: b.CreatedAt.UTC(), LastPull: b.LastPull.UTC()}
}

// Bouncers implements api.IPBackend.
func (a *App) Bouncers(ctx context.Context) (*api.BouncerList, error) {
	bs, err := a.contain.Bouncers(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.BouncerList{Bouncers: make([]api.Bouncer, len(bs))}
	for i, b := range bs {
		out.Bouncers[i] = bouncerOf(b)
	}
	return out, nil
}

// AddBouncer implements api.IPBackend. The key is audited never; only the
// bouncer's name is.
func (a *App) AddBouncer(ctx context.Context, name string) (*api.BouncerCreated, error) {
	key, err := a.contain.AddBouncer(ctx, name)
	if err != nil {
		return nil, err
	}
	out := &api.BouncerCreated{APIKey: key, Bouncer: api.Bouncer{Name: strings.TrimSpace(name), CreatedAt: a.now().UTC()}}
	bs, err := a.contain.Bouncers(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		if b.Name == out.Bouncer.Name {
			out.Bouncer = bouncerOf(b)
		}
	}
	if err := a.audit(ctx, "bouncer.add", "bouncer:"+out.Bouncer.Name, nil, out.Bouncer); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteBouncer implements api.IPBackend.
func (a *App) DeleteBouncer(ctx context.Context, name string) error {
	if err := a.contain.DeleteBouncer(ctx, name); err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return fmt.Errorf("bouncer %q: %w", name, err)
		}
		return err
	}
	return a.audit(ctx, "bouncer.delete", "bouncer:"+name, map[string]string{"name": name}, nil)
}
