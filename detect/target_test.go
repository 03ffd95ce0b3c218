package detect

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

func TestURLParam(t *testing.T) {
	for _, tc := range []struct {
		target, name, want string
	}{
		{"/x?a=1&b=2", "a", "1"},
		{"/x?a=1&b=2", "b", "2"},
		{"/x?ba=1&a=2", "a", "2"},
		{"/x?a=1&a=2", "a", "1"},
		{"/x?a=", "a", ""},
		{"/x?a", "a", ""},
		{"/x?a=1#frag&a=2", "a", "1"},
		{"/x?q=1#&a=9", "a", "9"}, // the macro searches the whole target
		{"/x?a=1%26b&c=3", "a", "1%26b"},
		{"/x", "a", ""},
		{"/x?page=3&limit=100", "page", "3"},
		{"/x?q=a?b=7", "b", "7"},
	} {
		if got := urlParam(tc.target, tc.name); got != tc.want {
			t.Errorf("urlParam(%q, %q) = %q, want %q", tc.target, tc.name, got, tc.want)
		}
	}
}

func TestWithoutParamAndNames(t *testing.T) {
	for _, tc := range []struct {
		target, name, want string
		names              []string
	}{
		{"/x?q=a&page=2&limit=10", "page", "/x?q=a&&limit=10", []string{"q", "page", "limit"}},
		{"/x?page=2&q=a", "page", "/x&&q=a", []string{"page", "q"}},
		{"/x?page=2&page=3", "page", "/x&&", []string{"page"}},
		{"/x?pages=2", "page", "/x?pages=2", []string{"pages"}},
		{"/x", "page", "/x", nil},
		{"/x?=1&\\=2&a#=3", "a", "/x?=1&\\=2&a#=3", nil},
	} {
		if got := withoutParam(tc.target, tc.name); got != tc.want {
			t.Errorf("withoutParam(%q, %q) = %q, want %q", tc.target, tc.name, got, tc.want)
		}
		if got := paramNames(tc.target); strings.Join(got, ",") != strings.Join(tc.names, ",") {
			t.Errorf("paramNames(%q) = %q, want %q", tc.target, got, tc.names)
		}
	}
}

func TestPathFieldsAndIDs(t *testing.T) {
	if got := pathField("/v1/documents/42/content", 4); got != "42" {
		t.Errorf("pathField(…, 4) = %q, want 42", got)
	}
	if got := pathField("/v1", 5); got != "" {
		t.Errorf("pathField(/v1, 5) = %q, want empty", got)
	}
	if got := numericFields("/v1/a/42/b/007/x9"); len(got) != 2 || got[0] != 4 || got[1] != 6 {
		t.Errorf("numericFields = %v, want [4 6]", got)
	}
	for s, want := range map[string]bool{"0": true, "123456789012345678": true, "1234567890123456789": false, "-1": false, "1e3": false, "": false, "٣": false} {
		if _, ok := parseID(s); ok != want {
			t.Errorf("parseID(%q) ok = %v, want %v", s, ok, want)
		}
	}
	if got := network("104.248.73.19"); got != "104.248.73.0/24" {
		t.Errorf("network = %q", got)
	}
	if got := network("2001:db8::1"); got != "2001:db8::1" {
		t.Errorf("network(v6) = %q", got)
	}
}

func TestParseCaller(t *testing.T) {
	for in, want := range map[string]Caller{
		"104.248.73.19":    {CallerIP, "104.248.73.19"},
		"::ffff:10.0.0.1":  {CallerIP, "10.0.0.1"},
		"dvk_abc":          {CallerKey, "dvk_abc"},
		"key:10.0.0.1":     {CallerKey, "10.0.0.1"},
		" 2001:db8::1 ":    {CallerIP, "2001:db8::1"},
		"key:dvk_x":        {CallerKey, "dvk_x"},
		"not an address ?": {CallerKey, "not an address ?"},
	} {
		if got := ParseCaller(in); got != want {
			t.Errorf("ParseCaller(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// scratchStore opens an empty DuckDB store: its macros are what the
// evidence queries call.
func scratchStore(tb testing.TB) *duckdb.Store {
	tb.Helper()
	st, err := duckdb.Open(context.Background(), filepath.Join(tb.TempDir(), "t.duckdb"), duckdb.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// sqlParse evaluates, in the store, the SQL expressions the evidence
// queries use for a target: a parameter's value, the target without it,
// a path field and its number.
func sqlParse(tb testing.TB, st *duckdb.Store, target, name string, field int) (value, rest, fieldValue string, number *int64) {
	tb.Helper()
	pat, ok := paramPattern(name)
	if !ok {
		tb.Fatalf("paramPattern(%q) refused", name)
	}
	num, _ := idSource{Field: field}.numberSQL()
	num = strings.ReplaceAll(num, "http_target", "?")
	raw, _ := idSource{Field: field}.valueSQL()
	raw = strings.ReplaceAll(raw, "http_target", "?")
	q := "SELECT extractURLParameter(?, ?), regexp_replace(?, '[?&]" + pat + "=[^&#]*', '&', 'g'), " + raw + ", " + num
	res, err := st.Query(context.Background(), q, store.QueryOptions{}, target, name, target, target, target, target)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	r := res.Rows[0]
	value, rest, fieldValue = r[0].(string), r[1].(string), r[2].(string)
	if r[3] != nil {
		n, _ := store.AsInt64(r[3])
		number = &n
	}
	return value, rest, fieldValue, number
}

// checkParity compares the Go parsers with the SQL the evidence runs.
func checkParity(t *testing.T, st *duckdb.Store, target, name string, field int) {
	t.Helper()
	value, rest, fv, num := sqlParse(t, st, target, name, field)
	if got := urlParam(target, name); got != value {
		t.Errorf("urlParam(%q, %q) = %q, SQL %q", target, name, got, value)
	}
	if got := withoutParam(target, name); got != rest {
		t.Errorf("withoutParam(%q, %q) = %q, SQL %q", target, name, got, rest)
	}
	path, _, _ := strings.Cut(target, "?")
	if got := pathField(path, field); got != fv {
		t.Errorf("pathField(%q, %d) = %q, SQL %q", path, field, got, fv)
	}
	n, ok := parseID(fv)
	if ok != (num != nil) || (ok && n != *num) {
		t.Errorf("parseID(%q) = %d, %v; SQL %v", fv, n, ok, num)
	}
}

func TestParsersMatchSQL(t *testing.T) {
	st := scratchStore(t)
	for _, tc := range []struct {
		target, name string
		field        int
	}{
		{"/v1/admin/export?collection_id=12&page=3", "collection_id", 4},
		{"/v1/documents/123456/content", "page", 4},
		{"/v1/x?page=1&page=2&q=a#page=3", "page", 2},
		{"/v1/x?a.b=1&aXb=2", "a.b", 3},
		{"/v1/x?a-b=%20&c=1", "a-b", 9},
		{"/v1//7?q=x?y", "q", 3},
		{"/v1/0012/x", "z", 3},
		{"/v1/99999999999999999999/x", "z", 3},
		{"/ü/12?é=1", "page", 3},
	} {
		checkParity(t, st, tc.target, tc.name, tc.field)
	}
}

// FuzzTargetParsers checks, on any target, that the Go parsers agree with
// the SQL of the evidence queries run by DuckDB, and never panic.
func FuzzTargetParsers(f *testing.F) {
	for _, s := range []string{
		"/v1/admin/export?collection_id=12&page=3",
		"/v1/documents/5?x=1#&page=2",
		"/a/b/c?page=&page=4&&",
		"/?=&=&?page=1?page=2",
		"/v1/search?q=invoice+2024&page=12&limit=100",
	} {
		f.Add(s, "page", 3)
		f.Add(s, "collection_id", 4)
	}
	st := scratchStore(f)
	f.Fuzz(func(t *testing.T, target, name string, field int) {
		names := paramNames(target)
		for _, n := range names {
			if n == "" || !literalSafe(n) {
				t.Fatalf("paramNames(%q) returned %q", target, n)
			}
		}
		_ = numericFields(target)
		if field < 1 || field > 40 || !utf8.ValidString(target) || strings.ContainsRune(target, 0) {
			return
		}
		if _, ok := paramPattern(name); !ok {
			return
		}
		checkParity(t, st, target, name, field)
	})
}

func TestStatistics(t *testing.T) {
	if r := spearman([]float64{1, 2, 3, 4, 5}); math.Abs(r-1) > 1e-12 {
		t.Errorf("spearman(rising) = %v, want 1", r)
	}
	if r := spearman([]float64{5, 4, 3, 2, 1}); math.Abs(r+1) > 1e-12 {
		t.Errorf("spearman(falling) = %v, want -1", r)
	}
	if r := spearman([]float64{1, 1, 1}); r != 0 {
		t.Errorf("spearman(constant) = %v, want 0", r)
	}
	if got := averageRanks([]float64{10, 20, 10, 30}); got[0] != 1.5 || got[2] != 1.5 || got[1] != 3 || got[3] != 4 {
		t.Errorf("averageRanks = %v", got)
	}
	mode, share, changes, longest := steps([]int64{1, 1, 2, 3, 3, 4, 10, 11, 12})
	if mode != 1 || changes != 6 || math.Abs(share-5.0/6) > 1e-12 || longest != 4 {
		t.Errorf("steps = %d %v %d %d, want 1 5/6 6 4", mode, share, changes, longest)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if z := robustZ(10, 2, 0); z != 80 {
		t.Errorf("robustZ with MAD 0 = %v, want 80 (floor scale 0.1)", z)
	}
	var hours [24]int64
	hours[1], hours[2], hours[23] = 50, 45, 5
	if w, s := hourBand(hours); w != 2 || s != 1 {
		t.Errorf("hourBand = %d from %d, want 2 from 1", w, s)
	}
	hours[2], hours[23] = 5, 50
	if w, s := hourBand(hours); w != 3 || s != 23 {
		t.Errorf("hourBand across midnight = %d from %d, want 3 from 23", w, s)
	}
}
