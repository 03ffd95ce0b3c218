package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// peerNeed is what a detector wants compared with an endpoint's other
// callers: their bytes, and optionally how deep they page with a page
// parameter and how many distinct values of a source they send.
type peerNeed struct {
	kind CallerKind
	ep   endpoint
	page string
	uniq idSource
}

// peerKey names the peer group of an endpoint's callers of one kind.
func peerKey(kind CallerKind, ep endpoint) string { return string(kind) + "\x00" + ep.key() }

// peerStats is the distribution of a peer group. The logarithms are
// natural logarithms of 1 + x.
type peerStats struct {
	callers            int64
	mLBytes, madLBytes float64 // bytes per caller
	mLAvg, madLAvg     float64 // bytes per request
	mN, mBytes, mAvg   float64
	// page is the page parameter p95Page describes; uniq the source
	// p95Uniq and mUniq describe.
	page           string
	p95Page        float64
	pagedCallers   int64 // callers that sent the page parameter
	uniq           idSource
	p95Uniq, mUniq float64
	uniqCallers    int64 // callers that sent the source
	// scope is the peers as findings name them.
	scope peerScope
}

// peerScope says who the peers are: the callers of an endpoint.
type peerScope struct {
	ep endpoint
}

func (s peerScope) filter() (string, bool) { return s.ep.filter() }

// readEndpointPeers reads, in one scan, the callers of every endpoint in
// needs (all of one caller kind), with each endpoint's first page
// parameter and source.
func readEndpointPeers(ctx context.Context, r *runner, kind CallerKind, needs []peerNeed, since, until time.Time) (map[string]*peerStats, error) {
	type want struct {
		ep   endpoint
		page string
		uniq idSource
	}
	byKey := map[string]*want{}
	var order []string
	for _, n := range needs {
		k := n.ep.key()
		w := byKey[k]
		if w == nil {
			w = &want{ep: n.ep}
			byKey[k] = w
			order = append(order, k)
		}
		if w.page == "" && n.page != "" {
			w.page = n.page
		}
		if w.uniq == (idSource{}) && n.uniq != (idSource{}) {
			w.uniq = n.uniq
		}
	}
	if len(order) == 0 {
		return map[string]*peerStats{}, nil
	}
	slices.Sort(order)
	var pages, uniqs []string
	var eps []endpoint
	for _, k := range order {
		w := byKey[k]
		eps = append(eps, w.ep)
		cond, ok := w.ep.columnsMatch()
		if !ok {
			w.page, w.uniq = "", idSource{}
			continue
		}
		if w.page != "" {
			if e, ok := (idSource{Param: w.page}).numberSQL(); ok {
				pages = append(pages, "WHEN "+cond+" THEN coalesce("+e+", 0)")
			} else {
				w.page = ""
			}
		}
		if w.uniq != (idSource{}) {
			if e, ok := w.uniq.valueSQL(); ok {
				uniqs = append(uniqs, "WHEN "+cond+" THEN "+e)
			} else {
				w.uniq = idSource{}
			}
		}
	}
	page, uniq := "0", "''"
	if len(pages) > 0 {
		page = "CASE " + strings.Join(pages, " ") + " ELSE 0 END"
	}
	if len(uniqs) > 0 {
		uniq = "CASE " + strings.Join(uniqs, " ") + " ELSE '' END"
	}
	inRoutes, routeArgs := inColumn("http_route", routes(eps))
	q := sqlText("peers", map[string]string{
		"template": templateSQL, "caller": kind.column(), "page": page, "uniq": uniq,
		"prefilter": inRoutes, "in_eps": inList("ep", len(order)),
	})
	res, err := r.query(ctx, q, append(append([]any{since, until}, routeArgs...), order)...)
	if err != nil {
		return nil, fmt.Errorf("read the endpoints' callers: %w", err)
	}
	out := map[string]*peerStats{}
	cols := columns(res)
	for _, vals := range res.Rows {
		rw := row{cols, vals}
		w := byKey[rw.str("ep")]
		if w == nil {
			continue
		}
		p := readPeerRow(rw)
		p.page, p.uniq, p.scope = w.page, w.uniq, peerScope{ep: w.ep}
		out[peerKey(kind, w.ep)] = p
	}
	return out, nil
}

func readPeerRow(rw row) *peerStats {
	return &peerStats{
		callers: rw.int("callers"),
		mLBytes: rw.float("m_lbytes"), madLBytes: rw.float("mad_lbytes"),
		mLAvg: rw.float("m_lavg"), madLAvg: rw.float("mad_lavg"),
		mN: rw.float("m_n"), mBytes: rw.float("m_bytes"), mAvg: rw.float("m_avg"),
		p95Page: rw.float("p95_page"), pagedCallers: rw.int("paged_callers"),
		p95Uniq: rw.float("p95_uniq"), mUniq: rw.float("m_uniq"), uniqCallers: rw.int("uniq_callers"),
	}
}

// volumeEvidenceSQL is the evidence query of the export volume detector:
// the caller's requests and bytes on the endpoint, its peers' medians and
// the robust z-scores of its bytes and bytes per request.
func volumeEvidenceSQL(c Caller, scope peerScope, since, until time.Time) string {
	f, ok1 := scope.filter()
	v, ok2 := quote(c.Value)
	if !ok1 || !ok2 {
		return ""
	}
	col := c.Kind.column()
	return fmt.Sprintf(`WITH per AS (
  SELECT %[1]s AS caller, count() AS n, sum(response_bytes) AS bytes
  FROM traces
  WHERE span_kind = 'Server' AND http_method <> '' AND %[2]s
    AND %[3]s AND %[1]s <> ''
  GROUP BY %[1]s
),
med AS (
  SELECT count() AS callers, median(bytes) AS median_bytes, median(bytes / n) AS median_avg_bytes,
    median(ln(1 + bytes)) AS m_lbytes, median(ln(1 + bytes / n)) AS m_lavg
  FROM per
),
mad AS (
  SELECT median(abs(ln(1 + bytes) - m_lbytes)) AS mad_lbytes, median(abs(ln(1 + bytes / n) - m_lavg)) AS mad_lavg
  FROM per, med
)
SELECT per.n AS requests, per.bytes AS bytes, round(per.bytes / per.n) AS avg_bytes,
  med.callers AS callers, med.median_bytes, round(med.median_avg_bytes) AS median_avg_bytes,
  round((ln(1 + per.bytes) - m_lbytes) / greatest(1.4826 * mad_lbytes, %[5]v), 2) AS z_bytes,
  round((ln(1 + per.bytes / per.n) - m_lavg) / greatest(1.4826 * mad_lavg, %[5]v), 2) AS z_avg_bytes
FROM per, med, mad
WHERE per.caller = %[4]s`, col, windowSQL(since, until), f, v, minScale)
}
