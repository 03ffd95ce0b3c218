package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracehound.yaml")
	if err := os.WriteFile(path, []byte("data: /srv/th\nlisten: 0.0.0.0:9000\nretention: 7d\napimap:\n  snapshot_interval: 15m\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TRACEHOUND_LISTEN": "127.0.0.1:9999"}
	c, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "/srv/th" || c.Listen != "127.0.0.1:9999" || time.Duration(c.Retention) != 7*24*time.Hour || c.Log.Level != "debug" {
		t.Errorf("Load = %+v; want file data, env listen, 7d retention, debug", c)
	}
	if time.Duration(c.APIMap.SnapshotInterval) != 15*time.Minute || time.Duration(c.APIMap.Window) != 7*24*time.Hour {
		t.Errorf("APIMap = %+v; want the file's 15m interval and the default 7d window", c.APIMap)
	}
	if c.OTLPHTTP != Default().OTLPHTTP {
		t.Errorf("OTLPHTTP = %q, want the default %q", c.OTLPHTTP, Default().OTLPHTTP)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "listne: :80\n", "field listne not found"},
		{"bad duration", "retention: soon\n", "invalid duration"},
		{"bad level", "log:\n  level: loud\n", "log.level"},
		{"empty map window", "apimap:\n  window: 0s\n", "apimap.window must be positive"},
		{"negative snapshot interval", "apimap:\n  snapshot_interval: -1h\n", "apimap.snapshot_interval is negative"},
		{"pin without a path", "apimap:\n  pins: [billing]\n", `"billing": want a path, or a service, a space and a path`},
		{"pin as an object", "apimap:\n  pins: [{service: billing}]\n", "want a string such as"},
		{"invalid pin", "apimap:\n  pins: [/files/x, 'billing /files/{name']\n", `apimap.pins[1]: pin for service "billing": template "/files/{name": segment "{name": unmatched "{"`},
		{"pin with a grouped integer", "apimap:\n  pins:\n    - /reports/2024/{month}\n", `apimap.pins[0]: pin "/reports/2024/{month}" for service "": segment "2024" is an integer`},
		{"do-not-merge template", "apimap:\n  do_not_merge: ['/reports/{id}']\n", `apimap.do_not_merge[0]: do-not-merge path "/reports/{id}" for service "": want a literal path`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			_, err := Load(path, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%q) = %v, want error containing %q", tc.yaml, err, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{{"15m", 15 * time.Minute}, {"7d", 7 * 24 * time.Hour}, {"2w", 14 * 24 * time.Hour}, {"1.5d", 36 * time.Hour}}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseDuration("7 days"); err == nil {
		t.Error("ParseDuration(\"7 days\") = nil error, want an error")
	}
}

func TestLoadMapPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracehound.yaml")
	yaml := "apimap:\n  pins:\n    - /files/{name}\n    - 'billing  /invoices/{number}'\n  do_not_merge:\n    - /reports/daily\n    - \"docs\\t/reports/weekly\"\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	wantPins := []MapPath{{Path: "/files/{name}"}, {Service: "billing", Path: "/invoices/{number}"}}
	wantDNM := []MapPath{{Path: "/reports/daily"}, {Service: "docs", Path: "/reports/weekly"}}
	if !slices.Equal(c.APIMap.Pins, wantPins) || !slices.Equal(c.APIMap.DoNotMerge, wantDNM) {
		t.Errorf("Load(%q) pins %+v, do_not_merge %+v; want %+v and %+v", yaml, c.APIMap.Pins, c.APIMap.DoNotMerge, wantPins, wantDNM)
	}
	for _, p := range append(wantPins, wantDNM...) {
		if got, err := ParseMapPath(p.String()); err != nil || got != p {
			t.Errorf("ParseMapPath(%q) = %+v, %v; want %+v", p.String(), got, err, p)
		}
	}
}
