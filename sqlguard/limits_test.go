package sqlguard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	g := NewWithOptions(Options{Limits: Limits{MaxQueryBytes: 200, MaxTokens: 20, MaxDepth: 4}})
	tests := []struct {
		name, q, want string
	}{
		{"bytes", "SELECT '" + strings.Repeat("x", 300) + "'", "200"},
		{"tokens", "SELECT " + strings.Repeat("1, ", 20) + "1", "more than 20 tokens"},
		{"depth", "SELECT ((((( 1 )))))", "deeper than 4"},
		{"brackets count too", "SELECT [[[[[1]]]]]", "deeper than 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := g.Check(tc.q)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check(%.40q…) = %v, want a refusal containing %q", tc.q, err, tc.want)
			}
		})
	}
	if err := g.Check("SELECT ((1)) FROM traces"); err != nil {
		t.Errorf("Check within limits = %v, want nil", err)
	}
}

// TestHostileSizeIsBounded feeds the default guard inputs at its limits:
// very deep nesting and very many tokens must be refused quickly, without
// recursion.
func TestHostileSizeIsBounded(t *testing.T) {
	g := New()
	for _, q := range []string{
		"SELECT " + strings.Repeat("(", 50_000) + "1" + strings.Repeat(")", 49_990),
		"SELECT " + strings.Repeat("1+", 12_000) + "1",
		"SELECT count() FROM traces WHERE " + strings.Repeat("a IN (SELECT 1 FROM traces) AND ", 3_000) + "true",
		strings.Repeat("SELECT 1 UNION ALL ", 5_000) + "SELECT 1",
		"SELECT * FROM traces t0" + strings.Repeat(" JOIN traces t ON true", 4_000),
	} {
		start := time.Now()
		err := g.Check(q)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%.40q… %d bytes) = %v, want a refusal", q, len(q), err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Check(%.40q… %d bytes) took %v", q, len(q), d)
		}
	}
}

func TestRefusalError(t *testing.T) {
	q := "SELECT count() FROM traces, spans"
	err := New().Check(q)
	var re *RefusalError
	if !errors.As(err, &re) {
		t.Fatalf("Check(%q) = %v, want a *RefusalError", q, err)
	}
	if got := q[re.Offset:]; got != "spans" {
		t.Errorf("Offset points at %q, want %q", got, "spans")
	}
	if !strings.HasPrefix(err.Error(), "query refused: ") {
		t.Errorf("Error() = %q, want the ErrRefused prefix", err)
	}
}

func TestOptionsFunctions(t *testing.T) {
	q := "SELECT geoToCountry(peer_ip) FROM traces"
	if err := New().Check(q); err == nil || !strings.Contains(err.Error(), "geoToCountry is not allowed") {
		t.Fatalf("default guard Check(%q) = %v, want a refusal naming the function", q, err)
	}
	g := NewWithOptions(Options{Functions: []string{"geoToCountry", "read_csv"}})
	if err := g.Check(q); err != nil {
		t.Errorf("Check(%q) with the function allowed = %v", q, err)
	}
	if err := g.Check("SELECT read_csv('x')"); err == nil {
		t.Errorf("a forbidden function stays forbidden when listed in Options.Functions")
	}
	names := g.Functions()
	if len(names) < 300 || !contains(names, "geoToCountry") || !contains(names, "uniqExact") {
		t.Errorf("Functions() = %d names, want ≥ 300 including geoToCountry and uniqExact", len(names))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSuggestions(t *testing.T) {
	g := New()
	for _, tc := range []struct{ fn, want string }{
		{"uniqexct", "uniqExact"},
		{"count_distinct", "uniqExact"},
		{"toStartOfHours", "toStartOfHour"},
		{"extractURLParam", "extractURLParameter"},
		{"date_format", "formatDateTime"},
	} {
		err := g.Check("SELECT " + tc.fn + "(http_path) FROM traces")
		if err == nil || !strings.Contains(err.Error(), "did you mean "+tc.want+"?") {
			t.Errorf("Check(%s(…)) = %v, want a suggestion of %s", tc.fn, err, tc.want)
		}
	}
}

func TestClickHouseSettings(t *testing.T) {
	got := ClickHouseSettings(Limits{MaxRows: 500, Timeout: 1500 * time.Millisecond, MaxMemoryBytes: 1 << 30})
	want := map[string]any{
		"readonly":             2,
		"allow_ddl":            0,
		"max_execution_time":   int64(2),
		"max_result_rows":      uint64(501),
		"result_overflow_mode": "break",
		"max_memory_usage":     uint64(1 << 30),
		"max_query_size":       uint64(maxQueryBytes),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ClickHouseSettings()[%q] = %#v, want %#v", k, got[k], v)
		}
	}
	if d := ClickHouseSettings(Limits{}); d["max_result_rows"] != uint64(DefaultLimits().MaxRows)+1 {
		t.Errorf("zero limits: max_result_rows = %v, want the default + 1", d["max_result_rows"])
	}
}

func TestLongNamesAreCheap(t *testing.T) {
	g := New()
	for _, q := range []string{
		"SELECT " + strings.Repeat("é", 40_000),
		"SELECT " + strings.Repeat("x", 90_000) + "(1)",
		"SELECT \"" + strings.Repeat("y", 90_000) + "\"(1)",
	} {
		start := time.Now()
		if err := g.Check(q); !errors.Is(err, ErrRefused) || len(err.Error()) > 300 {
			t.Errorf("Check(%.20q…) = %.300v, want a short refusal", q, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Check(%.20q…) took %v", q, d)
		}
	}
}
