package exclude

import (
	"context"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/store"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// query returns the embedded query name with its {{…}} markers replaced.
func query(name string, repl ...string) string {
	b, err := sqlFS.ReadFile("sql/" + name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return strings.NewReplacer(repl...).Replace(string(b))
}

// KeyColumns are the columns whose most excluded values a dry run lists.
var KeyColumns = []string{"peer_ip", "http_path", "api_key_id", "user_agent"}

// excludedCounts is what the count queries of a dry run found.
type excludedCounts struct {
	rows, total int64
	perDay      map[string]int64
	top         []KeyCount
	// lastMatch is the latest matching span up to the window's end within
	// the rules' look-back; zero when none matches.
	lastMatch time.Time
}

// countExcluded counts what p matches in (from, to]: per day, by key, and
// the latest match since from minus the longest look-back of rules (zero
// lookback: no lower bound).
func countExcluded(ctx context.Context, q store.Querier, p Predicate, from, to time.Time, lookbackFrom time.Time, top int) (excludedCounts, error) {
	c := excludedCounts{perDay: map[string]int64{}, top: []KeyCount{}}
	res, err := q.Query(ctx, query("excluded_per_day.sql", "{{predicate}}", p.SQL), store.QueryOptions{},
		append(append([]any(nil), p.Args...), from.UTC(), to.UTC())...)
	if err != nil {
		return c, fmt.Errorf("count the excluded spans: %w", err)
	}
	for _, row := range res.Rows {
		d, _ := store.AsInt64(row[0])
		total, _ := store.AsInt64(row[1])
		n, _ := store.AsInt64(row[2])
		c.total += total
		c.rows += n
		if n > 0 {
			c.perDay[time.Unix(d*86400, 0).UTC().Format("2006-01-02")] = n
		}
	}
	var lower time.Time
	if !lookbackFrom.IsZero() {
		lower = lookbackFrom.UTC()
	} else {
		lower = time.Unix(0, 0).UTC()
	}
	res, err = q.Query(ctx, query("last_match.sql", "{{predicate}}", p.SQL), store.QueryOptions{},
		append(append([]any(nil), p.Args...), lower, to.UTC())...)
	if err != nil {
		return c, fmt.Errorf("find the latest excluded span: %w", err)
	}
	if len(res.Rows) == 1 {
		if t, ok := res.Rows[0][0].(time.Time); ok {
			c.lastMatch = t.UTC()
		}
	}
	if c.rows == 0 {
		return c, nil
	}
	var parts []string
	var args []any
	for _, k := range KeyColumns {
		parts = append(parts, "SELECT * FROM ("+query("top_keys.sql", "{{predicate}}", p.SQL, "{{key}}", k, "{{limit}}", strconv.Itoa(top))+")")
		args = append(append(args, p.Args...), from.UTC(), to.UTC())
	}
	res, err = q.Query(ctx, strings.Join(parts, "\nUNION ALL\n"), store.QueryOptions{}, args...)
	if err != nil {
		return c, fmt.Errorf("find the most excluded keys: %w", err)
	}
	for _, row := range res.Rows {
		n, _ := store.AsInt64(row[2])
		c.top = append(c.top, KeyCount{Key: fmt.Sprint(row[0]), Value: fmt.Sprint(row[1]), Rows: n})
	}
	return c, nil
}

// Hits is what one exclusion matched in an interval.
type Hits struct {
	ID   string
	Rows int64
	// Last is the latest matching span; zero when none matched.
	Last time.Time
}

// CountHits counts, in one query, the server spans of (from, to] that each
// predicate matches. preds and ids are parallel.
func CountHits(ctx context.Context, q store.Querier, ids []string, preds []Predicate, from, to time.Time) ([]Hits, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var counts []string
	var args []any
	for i, p := range preds {
		cond := "coalesce((" + p.SQL + "), false)"
		counts = append(counts, fmt.Sprintf("countIf(%s) AS hits_%d, maxIf(timestamp, %s) AS last_%d", cond, i, cond, i))
		args = append(append(args, p.Args...), p.Args...)
	}
	args = append(args, from.UTC(), to.UTC())
	res, err := q.Query(ctx, query("hits.sql", "{{counts}}", strings.Join(counts, ",\n       ")), store.QueryOptions{}, args...)
	if err != nil {
		return nil, fmt.Errorf("count exclusion hits: %w", err)
	}
	out := make([]Hits, len(ids))
	for i, id := range ids {
		out[i].ID = id
		if len(res.Rows) == 1 {
			out[i].Rows, _ = store.AsInt64(res.Rows[0][2*i])
			if t, ok := res.Rows[0][2*i+1].(time.Time); ok && out[i].Rows > 0 {
				out[i].Last = t.UTC()
			}
		}
	}
	return out, nil
}

// timeWords are references to calendar time that make a rule's look-back
// impossible to read from its intervals.
var timeWords = wordSet(`today yesterday current_date todate tostartofday tostartofweek tostartofmonth tostartofyear
	tomonday date_trunc datetrunc`)

// lookback returns the longest INTERVAL a rule's SQL subtracts, the span of
// history before an evaluation it can read; ok is false when the SQL has
// no interval, or refers to calendar days, so that it cannot be known.
func lookback(sql string) (time.Duration, bool) {
	l, err := lexSQL(sql, false)
	if err != nil {
		return 0, false
	}
	var longest time.Duration
	found := false
	for i, t := range l.toks {
		if t.kind == kWord && timeWords[t.lower] {
			return 0, false
		}
		if t.kind != kWord || t.lower != "interval" {
			continue
		}
		n, unit := l.at(i+1), l.at(i+2)
		var count, name string
		switch {
		case n.kind == kNumber && unit.kind == kWord:
			count, name = n.text, unit.lower
		case n.kind == kString:
			f := strings.Fields(strings.Trim(n.text, "'"))
			if len(f) == 2 {
				count, name = f[0], strings.ToLower(f[1])
			} else if len(f) == 1 && unit.kind == kWord {
				count, name = f[0], unit.lower
			}
		}
		v, err := strconv.ParseFloat(count, 64)
		if err != nil {
			return 0, false
		}
		var u time.Duration
		switch strings.TrimSuffix(name, "s") {
		case "second":
			u = time.Second
		case "minute":
			u = time.Minute
		case "hour":
			u = time.Hour
		case "day":
			u = 24 * time.Hour
		case "week":
			u = 7 * 24 * time.Hour
		default:
			return 0, false
		}
		longest = max(longest, time.Duration(v*float64(u)))
		found = true
	}
	return longest, found
}
