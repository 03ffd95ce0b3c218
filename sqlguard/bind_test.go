package sqlguard

import (
	"errors"
	"testing"
	"time"
)

func TestBindNow(t *testing.T) {
	at := time.Date(2026, 11, 28, 14, 3, 15, 123456789, time.FixedZone("CET", 3600))
	const ts = "toDateTime64('2026-11-28 13:03:15.123456', 6, 'UTC')"
	tests := []struct{ in, want string }{
		{"SELECT count() FROM traces WHERE timestamp > now() - INTERVAL 15 MINUTE",
			"SELECT count() FROM traces WHERE timestamp > " + ts + " - INTERVAL 15 MINUTE"},
		{"select * from traces where timestamp >= NOW ( ) and x = now64(9)",
			"select * from traces where timestamp >= " + ts + " and x = " + ts},
		{"SELECT 'now()' AS s, \"now\" FROM traces -- now()\n WHERE t < current_timestamp",
			"SELECT 'now()' AS s, \"now\" FROM traces -- now()\n WHERE t < " + ts},
		{"SELECT now FROM traces", "SELECT now FROM traces"},
		{"SELECT t.now() FROM traces t", "SELECT t.now() FROM traces t"},
		{"SELECT today(), yesterday(), current_date", "SELECT toDate(" + ts + "), (toDate(" + ts + ") - 1), toDate(" + ts + ")"},
		{"SELECT /* today() */ 1", "SELECT /* today() */ 1"},
	}
	for _, tt := range tests {
		got, err := BindNow(tt.in, at)
		if err != nil {
			t.Errorf("BindNow(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("BindNow(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestBindNowRefusesAmbiguousStrings(t *testing.T) {
	// DuckDB reads 'a\' as a complete literal followed by now(); ClickHouse
	// reads the quote as escaped, so now() sits inside the string.
	_, err := BindNow(`SELECT 'a\', now(), 'b' FROM traces`, time.Now())
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
}

func FuzzBindNow(f *testing.F) {
	f.Add("SELECT now() FROM traces")
	f.Add("SELECT today(), 'now()' -- now()")
	f.Fuzz(func(t *testing.T, q string) {
		at := time.Unix(1_700_000_000, 0)
		out, err := BindNow(q, at)
		if err != nil {
			return
		}
		// Binding is idempotent: the literals it writes hold no time reference.
		again, err := BindNow(out, at)
		if err != nil || again != out {
			t.Fatalf("BindNow not idempotent on %q: %q, %v", q, again, err)
		}
	})
}
