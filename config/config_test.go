package config

import (
	"os"
	"path/filepath"
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
