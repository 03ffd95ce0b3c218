package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// seq builds a sequence of targets one second apart (jitter adds up to
// ±jitter of randomness to each gap).
func seq(targets []string, gap time.Duration, jitter float64, r *rand.Rand) *sequence {
	s := &sequence{ep: endpoint{Service: "s", Method: "GET", Route: "/items/{id}", Routed: true}}
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, t := range targets {
		path, _, _ := strings.Cut(t, "?")
		s.reqs = append(s.reqs, request{at: at, path: path, target: t, status: 200})
		g := float64(gap)
		if r != nil {
			g *= 1 + jitter*(2*r.Float64()-1)
		}
		at = at.Add(time.Duration(g))
	}
	s.total = int64(len(s.reqs))
	return s
}

func TestAnalyseSequentialIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var walk, random []string
	for i := 0; i < 400; i++ {
		walk = append(walk, fmt.Sprintf("/items/%d", 5000+i))
		random = append(random, fmt.Sprintf("/items/%d", 1+r.IntN(1_000_000)))
	}
	a := seq(walk, time.Second, 0.3, r).analyse()
	if len(a.numeric) != 1 || a.numeric[0].src.Field != 3 {
		t.Fatalf("sources %+v, want path field 3", a.numeric)
	}
	st := a.numeric[0]
	if st.unique != 400 || st.coverage != 1 || st.density != 1 || st.rho < 0.999 || st.modeStep != 1 || st.modeShare != 1 || st.longestRun != 400 {
		t.Errorf("sequential walk: %+v", st)
	}
	if sc := numericEnumScore(&st); sc < 0.99 {
		t.Errorf("score of a sequential walk = %v, want ≈ 1", sc)
	}
	if a.timing.localCV > 0.25 || a.timing.gaps != 399 {
		t.Errorf("timing %+v, want regular", a.timing)
	}
	b := seq(random, time.Second, 0.3, r).analyse()
	if sc := numericEnumScore(&b.numeric[0]); sc > 0.2 {
		t.Errorf("score of random ids = %v (%+v), want low", sc, b.numeric[0])
	}
}

func TestAnalysePagination(t *testing.T) {
	var targets []string
	for c := 1; c <= 60; c++ {
		for p := 1; p <= 1+c%7; p++ {
			targets = append(targets, fmt.Sprintf("/export?collection_id=%d&page=%d&limit=200", c, p))
		}
	}
	a := seq(targets, time.Second, 0, nil).analyse()
	if len(a.pages) != 1 || a.pages[0].param != "page" || a.pages[0].sizeParam != "limit" || a.pages[0].sizeValue != "200" {
		t.Fatalf("pages %+v, want page with limit=200", a.pages)
	}
	if p := a.pages[0]; p.modeStep != 1 || p.modeShare != 1 || p.traversals != 60 || p.maxPage != 7 {
		t.Errorf("page stats %+v", p)
	}
	if len(a.numeric) != 2 || a.numeric[0].src.Param != "collection_id" || a.numeric[1].unique != 1 {
		t.Fatalf("numeric sources %+v, want collection_id and the constant limit", a.numeric)
	}
	if st := a.numeric[0]; st.unique != 60 || st.modeStep != 1 || st.rho < 0.95 {
		t.Errorf("collection ids %+v", st)
	}
	if a.timing.cv != 0 || a.timing.localCV != 0 {
		t.Errorf("perfectly regular timing reads %+v", a.timing)
	}
}

func TestAnalyseTextSource(t *testing.T) {
	var targets []string
	for i := 0; i < 120; i++ {
		targets = append(targets, fmt.Sprintf("/search?q=term%d&page=1", i))
	}
	a := seq(targets, time.Minute, 0, nil).analyse()
	if len(a.texts) != 1 || a.texts[0].unique != 120 || a.texts[0].src.Param != "q" {
		t.Fatalf("texts %+v, want q with 120 values", a.texts)
	}
	if sc := textEnumScore(&a.texts[0], &peerStats{uniqCallers: 100, p95Uniq: 5}); sc != 1 {
		t.Errorf("120 values against a p95 of 5 scores %v, want 1", sc)
	}
	if sc := textEnumScore(&a.texts[0], &peerStats{uniqCallers: 100, p95Uniq: 200}); sc != 0 {
		t.Errorf("120 values against a p95 of 200 scores %v, want 0", sc)
	}
}

func TestPairScores(t *testing.T) {
	ps := &pageStats{paged: 500, traversals: 20, modeStep: 1, modeShare: 1, maxPage: 60}
	if sc := pageScore(ps, &peerStats{pagedCallers: 100, p95Page: 3}); sc != 1 {
		t.Errorf("deep crawl against shallow peers = %v, want 1", sc)
	}
	if sc := pageScore(ps, &peerStats{pagedCallers: 100, p95Page: 60}); sc != 0 {
		t.Errorf("crawl as deep as peers = %v, want 0", sc)
	}
}

// FuzzSequence analyses sequences of arbitrary targets: no panic, and the
// statistics stay in their ranges.
func FuzzSequence(f *testing.F) {
	f.Add("/items/1\n/items/2\n/items/3?page=1\n/items/3?page=2")
	f.Add("/x?a=1&b=1\n/x?a=2&b=1\n/x?a=3&b=1\n/x?a=1&b=2")
	f.Add("/?=\n/?==\n/%%?&&&\n//9//9//")
	f.Add("/v1/search?q=x&page=1&limit=100\n/v1/search?q=x&page=2&limit=100\n/v1/search?q=y&page=1&limit=100")
	f.Fuzz(func(t *testing.T, in string) {
		targets := strings.Split(in, "\n")
		if len(targets) > 200 {
			targets = targets[:200]
		}
		a := seq(targets, time.Second, 0, nil).analyse()
		for _, st := range a.numeric {
			if st.unique > st.n || st.coverage < 0 || st.coverage > 1 || st.density < 0 || st.density > 1 ||
				math.Abs(st.rho) > 1+1e-9 || st.modeShare < 0 || st.modeShare > 1 || st.min > st.max && st.n > 0 {
				t.Fatalf("numeric stats out of range: %+v", st)
			}
			if sc := numericEnumScore(&st); sc < 0 || sc > 1 || math.IsNaN(sc) {
				t.Fatalf("score %v", sc)
			}
		}
		for _, p := range a.pages {
			if p.paged < 3 || p.modeStep <= 0 || p.modeShare < 0.5 || p.adjShare < 0.5 || p.adjShare > 1 {
				t.Fatalf("page stats %+v", p)
			}
		}
		for _, x := range a.texts {
			if x.unique > x.n {
				t.Fatalf("text stats %+v", x)
			}
		}
	})
}
