package chtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStartStop starts a throwaway server, uses it, and checks that Stop
// leaves nothing behind.
func TestStartStop(t *testing.T) {
	if _, err := Binary(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version == "" || !strings.HasPrefix(s.HTTPURL, "http://127.0.0.1:") || !strings.HasPrefix(s.NativeAddr, "127.0.0.1:") {
		t.Errorf("server %+v", s)
	}
	db := s.NewDatabase(t)
	if _, err := s.QueryDB(ctx, db, "CREATE TABLE t (a UInt8) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueryDB(ctx, db, "INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if out, err := s.QueryDB(ctx, db, "SELECT sum(a) FROM t"); err != nil || out != "7\n" {
		t.Errorf("SELECT = %q, %v; want 7", out, err)
	}
	if _, err := s.Query(ctx, "SELECT nope"); err == nil || !strings.Contains(err.Error(), "HTTP") {
		t.Errorf("a bad query = %v, want an HTTP error", err)
	}
	if fi, err := os.Stat(s.dir); err != nil || !fi.IsDir() {
		t.Fatalf("server directory: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("the server directory is still there after Stop: %v", err)
	}
	if _, err := s.Query(context.Background(), "SELECT 1"); err == nil {
		t.Error("the server still answers after Stop")
	}
}

func TestFromURL(t *testing.T) {
	for _, bad := range []string{"", "not a url", "127.0.0.1:8123"} {
		if _, err := fromURL(bad); err == nil {
			t.Errorf("fromURL(%q) succeeded", bad)
		}
	}
	// A well-formed URL of a server that is not there fails when asked.
	if _, err := fromURL("http://127.0.0.1:1/?native_port=2"); err == nil {
		t.Error("fromURL of a closed port succeeded")
	}
}

func TestModernDSNSkips(t *testing.T) {
	if os.Getenv(EnvDSN) != "" {
		t.Skip("a modern server is configured")
	}
	ran := false
	t.Run("inner", func(t *testing.T) {
		ModernDSN(t)
		ran = true
	})
	if ran {
		t.Error("ModernDSN did not skip without " + EnvDSN)
	}
}
