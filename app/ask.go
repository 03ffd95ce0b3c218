package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

var _ api.AskBackend = (*App)(nil)

// Defaults of a rule drafted from a question (forensics.RuleOptions).
const (
	ruleDraftWindow   = time.Hour
	ruleDraftInterval = 5 * time.Minute
)

// Ask implements api.AskBackend. The question is read against the catalog
// of observed endpoints (askCatalog); its queries pass the read-only guard
// and run with the row cap and timeout of ad-hoc SQL.
func (a *App) Ask(ctx context.Context, q api.AskRequest) (*api.AskResult, error) {
	cat, err := a.askCatalog(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	gq := &guardedQuerier{a: a, types: map[string][]string{}}
	var ans *forensics.Answer
	if q.SQLOnly {
		ans, err = forensics.PrepareLLM(ctx, q.Question, cat, now, a.translator(), forensics.CompileOptions{})
		if err == nil {
			err = gq.check(ans)
		}
	} else {
		ans, err = forensics.AskLLM(ctx, gq, cat, q.Question, now, a.translator(), forensics.CompileOptions{})
	}
	if err != nil {
		return nil, err
	}
	res := &api.AskResult{
		Question: ans.Question, Interpretation: ans.Interpretation, IR: ans.IR,
		QueryResult: api.QueryResult{
			SQL: ans.SQL, Columns: api.UniqueColumns(ans.Columns), Types: gq.types[ans.SQL],
			Rows: ans.Rows, Truncated: ans.Truncated, ElapsedMS: ans.ElapsedMS,
		},
		Args: ans.Args, Notes: ans.Notes, SQLOnly: q.SQLOnly,
	}
	if tl := ans.Timeline; tl != nil {
		res.Timeline = &api.AskTimeline{
			Bucket:      tl.Bucket,
			QueryResult: api.QueryResult{SQL: tl.SQL, Columns: api.UniqueColumns(tl.Columns), Types: gq.types[tl.SQL], Rows: tl.Rows},
			Args:        tl.Args,
		}
	}
	return res, nil
}

// AskExamples implements api.AskBackend.
func (a *App) AskExamples(context.Context) (*api.AskExamples, error) {
	return &api.AskExamples{Examples: slices.Clone(forensics.Examples)}, nil
}

// AskRule implements api.AskBackend. The draft's SQL passes the guard, as
// a stored rule's must.
func (a *App) AskRule(ctx context.Context, q api.AskRuleQuery) (*api.AskRuleResult, error) {
	if q.Window < 0 || q.Interval < 0 {
		return nil, fmt.Errorf("%w: a rule's window and interval must be positive", api.ErrBadRequest)
	}
	cat, err := a.askCatalog(ctx)
	if err != nil {
		return nil, err
	}
	ans, err := forensics.Prepare(q.Question, cat, a.now(), forensics.CompileOptions{})
	if err != nil {
		return nil, err
	}
	window := cmp.Or(q.Window, ruleDraftWindow)
	draft, err := forensics.ToRule(ans.Parsed(), forensics.RuleOptions{
		Window: window, Threshold: q.Threshold, Interval: cmp.Or(q.Interval, ruleDraftInterval),
	})
	if err != nil {
		return nil, err
	}
	if err := a.guard.Check(draft.SQL); err != nil {
		return nil, fmt.Errorf("the rule drafted from %q: %w", q.Question, err)
	}
	res := &api.AskRuleResult{
		Question: ans.Question, Interpretation: ans.Interpretation, IR: ans.IR,
		Window: api.Duration(window), Threshold: q.Threshold,
		Rule: api.RuleDraft{
			Name: draft.Name, SQL: draft.SQL, Interval: api.Duration(draft.Interval), For: api.Duration(draft.For),
			Severity: draft.Severity, GroupBy: slices.Clone(draft.GroupBy),
		},
	}
	res.RuleID, res.Body, err = ruleBody(draft)
	if err != nil {
		return nil, err
	}
	// The draft is shown with what it would have done, so its threshold
	// can be tuned before it is saved.
	bt, err := a.BacktestRule(ctx, api.BacktestRequest{Body: res.Body, Since: "7d"})
	if err != nil {
		res.BacktestError = err.Error()
	} else {
		res.Backtest = bt
	}
	return res, nil
}

// ruleBody writes a drafted rule as the YAML body of one rule.
func ruleBody(d *forensics.RuleDraft) (string, string, error) {
	id := "ask_" + slug(d.Name)
	sev, err := alert.ParseSeverity(d.Severity)
	if err != nil {
		sev = alert.SeverityMedium
	}
	rule := map[string]any{
		"id": id, "name": d.Name, "interval": config.Duration(d.Interval).String(), "severity": string(sev),
		"description": "Drafted from a forensic question.", "sql": d.SQL,
	}
	if d.For > 0 {
		rule["for"] = config.Duration(d.For).String()
	}
	if len(d.GroupBy) > 0 {
		rule["group_by"] = d.GroupBy
	}
	b, err := yaml.Marshal(rule)
	if err != nil {
		return "", "", err
	}
	return id, string(b), nil
}

// slug turns a name into a rule id part: lower-case letters, digits and
// underscores, at most 48 characters.
func slug(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			under = false
		case !under && b.Len() > 0:
			b.WriteByte('_')
			under = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// guardedQuerier runs the forensic queries: each passes the read-only
// guard first, as ad-hoc SQL does, and runs with at most its row cap and
// timeout. It keeps the column types of each query it ran, by SQL.
type guardedQuerier struct {
	a     *App
	types map[string][]string
}

var _ store.Querier = (*guardedQuerier)(nil)

// Query implements store.Querier.
func (q *guardedQuerier) Query(ctx context.Context, sql string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	if err := q.a.guard.Check(sql); err != nil {
		return nil, err
	}
	if opts.MaxRows <= 0 || opts.MaxRows > sqlMaxRows {
		opts.MaxRows = sqlMaxRows
	}
	if opts.Timeout <= 0 || opts.Timeout > sqlTimeout {
		opts.Timeout = sqlTimeout
	}
	res, err := q.a.store.Query(ctx, sql, opts, args...)
	if err != nil {
		return nil, err
	}
	q.types[sql] = res.Types
	return res, nil
}

// check passes a prepared answer's queries through the guard, so that
// --sql-only never shows a query that would be refused.
func (q *guardedQuerier) check(ans *forensics.Answer) error {
	if err := q.a.guard.Check(ans.SQL); err != nil {
		return err
	}
	if ans.Timeline != nil {
		return q.a.guard.Check(ans.Timeline.SQL)
	}
	return nil
}

// Limits of the forensics catalog.
const (
	// catalogSnapshots bounds the snapshots read to build a catalog from
	// scratch: the latest, and the last snapshot of each known endpoint
	// that the latest did not see, newest first. Endpoints whose last
	// snapshot is older keep their template without parameter names.
	catalogSnapshots = 16
	// inventoryCatalogTTL is how long a catalog built from the inventory
	// (no snapshot stored yet) is reused.
	inventoryCatalogTTL = time.Minute
)

// askCache is an App's forensics catalog: the endpoints and query
// parameter names the API map snapshots saw, kept until a newer snapshot
// is stored. A newer snapshot is folded in, so that endpoints quiet since
// an earlier snapshot still resolve.
type askCache struct {
	mu sync.Mutex
	// snapshotID is the newest snapshot folded in; zero when the catalog
	// was built from the inventory, at built.
	snapshotID int64
	built      time.Time
	endpoints  map[catalogKey]forensics.Endpoint
	cat        forensics.StaticCatalog
}

type catalogKey struct{ service, method, template string }

func (a *App) askCache() *askCache { return &a.ask }

// askCatalog returns the catalog questions are read against: the latest
// API map snapshot's endpoints, folded into what earlier snapshots saw,
// rebuilt only when a newer snapshot exists. With no snapshot stored it
// builds the inventory of the map window, which on a big store takes
// seconds, and reuses it for inventoryCatalogTTL.
func (a *App) askCatalog(ctx context.Context) (forensics.Catalog, error) {
	c := a.askCache()
	c.mu.Lock()
	defer c.mu.Unlock()
	latest, err := a.state.MapSnapshots(ctx, catalogSnapshots)
	if err != nil {
		return nil, fmt.Errorf("forensics catalog: %w", err)
	}
	if len(latest) == 0 {
		if c.snapshotID == 0 && c.cat != nil && a.now().Sub(c.built) < inventoryCatalogTTL {
			return c.cat, nil
		}
		v, err := a.inventory(ctx, 0, "")
		if err != nil {
			return nil, fmt.Errorf("forensics catalog: %w", err)
		}
		c.endpoints = map[catalogKey]forensics.Endpoint{}
		foldCatalog(c.endpoints, forensics.CatalogFromInventory(v.inv))
		c.cat, c.snapshotID, c.built = sortedCatalog(c.endpoints), 0, a.now()
		return c.cat, nil
	}
	newest := latest[0].ID
	if newest == c.snapshotID {
		return c.cat, nil
	}
	// Fold in the snapshots taken since the cached one, oldest first;
	// when the cache is empty, from an inventory, or too far behind,
	// start over.
	var ids []int64
	for _, s := range latest {
		if s.ID <= c.snapshotID {
			break
		}
		ids = append(ids, s.ID)
	}
	if c.snapshotID == 0 || newest < c.snapshotID || len(ids) == len(latest) && latest[len(latest)-1].ID > c.snapshotID+1 {
		return c.rebuild(ctx, a.state, newest)
	}
	for _, id := range slices.Backward(ids) {
		snap, err := a.state.MapSnapshot(ctx, id)
		if errors.Is(err, state.ErrNotFound) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("forensics catalog: %w", err)
		}
		foldCatalog(c.endpoints, snapshotCatalog(snap))
	}
	c.cat, c.snapshotID = sortedCatalog(c.endpoints), newest
	return c.cat, nil
}

// rebuild builds the catalog from scratch: the latest snapshot, the last
// snapshots of the known endpoints it did not see, and the templates of
// the known endpoints beyond those.
func (c *askCache) rebuild(ctx context.Context, st state.Store, newest int64) (forensics.Catalog, error) {
	known, err := st.KnownEndpoints(ctx, state.KnownEndpointFilter{})
	if err != nil {
		return nil, fmt.Errorf("forensics catalog: %w", err)
	}
	ids := []int64{newest}
	for _, k := range known {
		if !slices.Contains(ids, k.LastSnapshotID) {
			ids = append(ids, k.LastSnapshotID)
		}
	}
	slices.SortFunc(ids, func(x, y int64) int { return cmp.Compare(y, x) })
	ids = ids[:min(len(ids), catalogSnapshots)]
	m := map[catalogKey]forensics.Endpoint{}
	for _, id := range slices.Backward(ids) {
		snap, err := st.MapSnapshot(ctx, id)
		if errors.Is(err, state.ErrNotFound) {
			continue // pruned: its endpoints keep their templates below
		}
		if err != nil {
			return nil, fmt.Errorf("forensics catalog: %w", err)
		}
		foldCatalog(m, snapshotCatalog(snap))
	}
	var rest forensics.StaticCatalog
	for _, k := range known {
		rest = append(rest, forensics.Endpoint{Service: k.Service, Method: k.Method, Template: k.Template})
	}
	foldCatalog(m, rest)
	c.endpoints, c.cat, c.snapshotID, c.built = m, sortedCatalog(m), newest, time.Time{}
	return c.cat, nil
}

// snapshotCatalog reads the endpoints of a snapshot with their query
// parameter names. An endpoint whose stored JSON does not decode keeps
// its template.
func snapshotCatalog(snap state.MapSnapshot) forensics.StaticCatalog {
	inv := &apimap.Inventory{Endpoints: make([]apimap.Endpoint, len(snap.Endpoints))}
	for i, se := range snap.Endpoints {
		e := &inv.Endpoints[i]
		if json.Unmarshal(se.Data, e) != nil {
			*e = apimap.Endpoint{}
		}
		e.Service, e.Method, e.Template = se.Service, se.Method, se.Template
	}
	return forensics.CatalogFromInventory(inv)
}

// foldCatalog adds endpoints to m, merging the parameter names of an
// endpoint m has. It never modifies a parameter list in place: catalogs
// handed out earlier share them.
func foldCatalog(m map[catalogKey]forensics.Endpoint, eps forensics.StaticCatalog) {
	for _, e := range eps {
		k := catalogKey{e.Service, e.Method, e.Template}
		have, ok := m[k]
		if !ok {
			have = forensics.Endpoint{Service: e.Service, Method: e.Method, Template: e.Template}
		}
		var params []string
		for _, p := range e.QueryParams {
			if !slices.Contains(have.QueryParams, p) && !slices.Contains(params, p) {
				params = append(params, p)
			}
		}
		if len(params) > 0 {
			have.QueryParams = slices.Sorted(slices.Values(append(slices.Clone(have.QueryParams), params...)))
		}
		m[k] = have
	}
}

// sortedCatalog lists m by service, template and method.
func sortedCatalog(m map[catalogKey]forensics.Endpoint) forensics.StaticCatalog {
	cat := make(forensics.StaticCatalog, 0, len(m))
	for _, e := range m {
		cat = append(cat, e)
	}
	slices.SortFunc(cat, func(x, y forensics.Endpoint) int {
		return cmp.Or(cmp.Compare(x.Service, y.Service), cmp.Compare(x.Template, y.Template), cmp.Compare(x.Method, y.Method))
	})
	return cat
}
