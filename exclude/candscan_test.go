package exclude

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestScanCandidateMatchesQueries checks that the one scan of a
// candidate's spans answers what the queries of traces do: the counts
// per day, the most excluded keys, the latest match, and for each rule
// the groups it touches and whether it touches the rule's reads at all.
func TestScanCandidateMatchesQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	ctx := context.Background()
	st := openStore(t, deltaSpans())
	from, to := testT0.Add(time.Hour), testT0.Add(5*time.Hour)
	lower := from.Add(-2 * time.Hour)
	never := Expiry{Never: true}
	health := Exclusion{ID: "health", Conditions: []Condition{{KindPathGlob, "/health*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: never}
	baseline, warnings := baselines(ctx, []Exclusion{health}, "", CompileOptions{})
	if len(warnings) > 0 {
		t.Fatal(warnings)
	}
	untouched, touchedSome, windowed := 0, 0, 0
	for _, c := range [][]Condition{
		{{KindPathGlob, "/admin/*"}},
		{{KindIPCIDR, "203.0.113.0/24"}},
		{{KindUserAgent, "curl/*"}, {KindPathGlob, "/v1/items/*"}},
		{{KindStatus, "500"}},
		{{KindAPIKey, "key-3"}},
		{{KindPathGlob, "/healthz"}}, // all removed by the baseline already
		{{KindPathGlob, "/nowhere"}},
	} {
		p, err := Compile(ctx, Exclusion{ID: "c", Conditions: c, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never}, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scan, ok, err := scanCandidate(ctx, st, deltaRules, baseline, p, from, to, lower, 5)
		if err != nil || !ok {
			t.Fatalf("%v: scanCandidate() = %v, %v", c, ok, err)
		}
		want, err := countExcluded(ctx, st, p, from, to, lower, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(scan.counts, want) {
			t.Errorf("%v: counts\n scan    %+v\n queries %+v", c, scan.counts, want)
		}
		for i := range deltaRules {
			r := &deltaRules[i]
			rs := scan.rules[r.ID]
			tg, tok, err := touchedGroups(ctx, st, r, baseline(r.ID), p, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if rs.windowed != tok || tok && (rs.touched.groups != tg.groups || !reflect.DeepEqual(sortedValues(rs.touched), sortedValues(tg))) {
				t.Errorf("%v: %s: scan touched %v %+v, query %v %+v", c, r.ID, rs.windowed, rs.touched, tok, tg)
			}
			same, err := readsUntouched(ctx, st, r, baseline(r.ID), p, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if rs.shared && rs.untouched != same || !rs.shared && same {
				t.Errorf("%v: %s: scan shared %v untouched %v, query %v", c, r.ID, rs.shared, rs.untouched, same)
			}
			switch {
			case rs.shared && rs.untouched:
				untouched++
			case rs.shared:
				touchedSome++
			}
			if tok && tg.groups > 0 {
				windowed++
			}
		}
	}
	if untouched == 0 || touchedSome == 0 || windowed == 0 {
		t.Errorf("%d rules untouched, %d touched, %d with touched groups: the candidates test nothing", untouched, touchedSome, windowed)
	}

	// A candidate matching more spans than a copy may hold is left to the
	// queries.
	defer func(n int) { maxScanRows = n }(maxScanRows)
	maxScanRows = 10
	p, err := Compile(ctx, Exclusion{ID: "c", Conditions: []Condition{{KindStatus, "500"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never}, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := scanCandidate(ctx, st, deltaRules, baseline, p, from, to, lower, 5); ok || err != nil {
		t.Errorf("scanCandidate() past maxScanRows = %v, %v; want not ok", ok, err)
	}
}

// sortedValues returns t's values as text, sorted per column.
func sortedValues(t touched) [][]string {
	out := make([][]string, len(t.values))
	for i, vs := range t.values {
		for _, v := range vs {
			out[i] = append(out[i], fmt.Sprint(v))
		}
		slices.Sort(out[i])
	}
	return out
}
