// Package chtest gives tests a ClickHouse server.
//
// A modern server (23.8 or newer, which the store needs) is only ever an
// existing one: TRACEHOUND_CLICKHOUSE_DSN, e.g.
// clickhouse://default:@127.0.0.1:9000/default. Tests that need it skip
// without it.
//
// A legacy server is the clickhouse-server that Debian packages (18.16,
// 2018): old, but a real ClickHouse engine, on which the read SQL
// tracehound generates can be parsed and run. Legacy starts one as the
// clickhouse user (when the tests run as root) on free loopback ports,
// with a configuration and data directory of its own in a temporary
// directory, waits until it answers, and StopShared stops it and removes
// the directory. TRACEHOUND_CLICKHOUSE_LEGACY_URL (http://host:8123, with
// ?native_port=N when the native port is not 9000) points the tests at a
// running one instead. Without either, the tests skip.
package chtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that point the tests at existing servers.
const (
	EnvDSN       = "TRACEHOUND_CLICKHOUSE_DSN"
	EnvLegacyURL = "TRACEHOUND_CLICKHOUSE_LEGACY_URL"
)

// ModernDSN returns the DSN of the modern server, or skips t.
func ModernDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skipf("needs ClickHouse %s or newer: set %s (e.g. clickhouse://default:@127.0.0.1:9000/default)", "23.8", EnvDSN)
	}
	return dsn
}

// Server is a ClickHouse server tests can use.
type Server struct {
	// HTTPURL is the HTTP interface, e.g. http://127.0.0.1:18123.
	HTTPURL string
	// NativeAddr is the native protocol's host:port.
	NativeAddr string
	// Version is what SELECT version() says.
	Version string

	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	client *http.Client
}

// Binary returns the path of clickhouse-server.
func Binary() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("clickhouse-server is not installed (Debian: apt-get install clickhouse-server)")
}

const configXML = `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>{{dir}}/log/server.log</log>
    <errorlog>{{dir}}/log/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <http_port>{{http}}</http_port>
  <tcp_port>{{tcp}}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{{dir}}/data/</path>
  <tmp_path>{{dir}}/tmp/</tmp_path>
  <user_files_path>{{dir}}/user_files/</user_files_path>
  <format_schema_path>{{dir}}/format_schemas/</format_schema_path>
  <users_config>{{dir}}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>134217728</mark_cache_size>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <max_concurrent_queries>64</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`

// Start starts a throwaway server of the installed clickhouse-server on
// free loopback ports. Stop it with Stop.
func Start(ctx context.Context) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // a free port may be taken before the server binds it
		s, err := start(ctx, bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(ctx context.Context, bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "tracehound-clickhouse-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	cfg := strings.NewReplacer("{{dir}}", dir, "{{http}}", strconv.Itoa(ports[0]), "{{tcp}}", strconv.Itoa(ports[1])).Replace(configXML)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if os.Geteuid() == 0 {
		// ClickHouse should not run as root: run it as its own user.
		u, err := user.Lookup("clickhouse")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no clickhouse user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := chownAll(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		setCredential(cmd, uint32(uid), uint32(gid))
	}
	setProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{
		HTTPURL:    fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		NativeAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		dir:        dir,
		cmd:        cmd,
		exited:     make(chan struct{}),
		client:     &http.Client{Timeout: 2 * time.Minute},
	}
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		v, err := s.Query(ctx, "SELECT version()")
		if err == nil {
			s.Version = strings.TrimSpace(v)
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("clickhouse-server exited during start: %s", s.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clickhouse-server did not answer within %v (%v): %s", limit, err, s.logTail())
		}
	}
}

func (s *Server) logTail() string {
	var b strings.Builder
	for _, f := range []string{"stdout.log", "server.err.log"} {
		data, _ := os.ReadFile(filepath.Join(s.dir, "log", f))
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		b.Write(data)
	}
	return b.String()
}

// Stop stops a server Start started (SIGTERM, then SIGKILL after 20s) and
// removes its directory. It does nothing to a server it did not start.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	terminate(s.cmd)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	return os.RemoveAll(s.dir)
}

// Query runs one statement over the HTTP interface and returns the
// response body (TabSeparated).
func (s *Server) Query(ctx context.Context, sql string) (string, error) {
	return s.QueryDB(ctx, "", sql)
}

// QueryDB is Query with db as the current database.
func (s *Server) QueryDB(ctx context.Context, db, sql string) (string, error) {
	u := s.HTTPURL + "/"
	if db != "" {
		u += "?database=" + url.QueryEscape(db)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewBufferString(sql))
	if err != nil {
		return "", err
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// DSN is a clickhouse-go DSN of the native port, with db as the database.
func (s *Server) DSN(db string) string {
	return "clickhouse://default:@" + s.NativeAddr + "/" + db + "?dial_timeout=10s&read_timeout=60s"
}

// NewDatabase creates an empty database for one test and drops it when
// the test ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	db := "th_test_" + hex.EncodeToString(b[:])
	if _, err := s.Query(context.Background(), "CREATE DATABASE "+db); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { s.Query(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	return db
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Legacy returns the legacy server the package's tests share (see the
// package comment), starting it on first use, or skips t when there is
// none. Call StopShared from TestMain.
func Legacy(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = legacy()
	}
	if sharedErr != nil {
		if errors.Is(sharedErr, errNoBinary) {
			t.Skipf("no legacy ClickHouse: %v; or set %s", sharedErr, EnvLegacyURL)
		}
		t.Fatalf("legacy ClickHouse: %v", sharedErr)
	}
	return shared
}

var errNoBinary = errors.New("clickhouse-server is not installed (Debian: apt-get install clickhouse-server)")

func legacy() (*Server, error) {
	if raw := os.Getenv(EnvLegacyURL); raw != "" {
		return fromURL(raw)
	}
	if _, err := Binary(); err != nil {
		return nil, errNoBinary
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Start(ctx)
}

// fromURL describes a running server from TRACEHOUND_CLICKHOUSE_LEGACY_URL.
func fromURL(raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s: want http://host:port, got %q", EnvLegacyURL, raw)
	}
	native := u.Query().Get("native_port")
	if native == "" {
		native = "9000"
	}
	s := &Server{
		HTTPURL:    u.Scheme + "://" + u.Host,
		NativeAddr: net.JoinHostPort(u.Hostname(), native),
		client:     &http.Client{Timeout: 2 * time.Minute},
	}
	v, err := s.Query(context.Background(), "SELECT version()")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLegacyURL, err)
	}
	s.Version = strings.TrimSpace(v)
	return s, nil
}

// StopShared stops the shared legacy server if this process started it.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func chownAll(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
