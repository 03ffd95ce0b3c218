// Package pgtest gives each test a PostgreSQL database of its own.
//
// The databases live on the server that TRACEHOUND_POSTGRES_DSN names
// (a role allowed to create databases), or, without it, on a throwaway
// cluster that the test binary starts from the installed PostgreSQL
// binaries (Debian's postgresql package: /usr/lib/postgresql/*/bin): its
// data directory is a new temporary directory, it listens on a free
// loopback port with trust authentication, runs as the postgres system
// user when the tests run as root, and is stopped and removed when the
// tests end. A package that uses pgtest calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without a DSN or binaries the tests that ask for a database skip with
// the reason, unless TRACEHOUND_POSTGRES_REQUIRED is set (as CI does),
// where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables that pgtest reads.
const (
	// EnvDSN names a server to create the test databases on instead of
	// starting a cluster.
	EnvDSN = "TRACEHOUND_POSTGRES_DSN"
	// EnvRequired, when not empty, turns "no PostgreSQL here" from a skip
	// into a failure.
	EnvRequired = "TRACEHOUND_POSTGRES_REQUIRED"
)

// server is the PostgreSQL server of this test binary.
type server struct {
	adminDSN string // a DSN for creating and dropping databases
	cluster  *cluster
	skip     string // why there is no server, when there is none
}

var (
	mu       sync.Mutex
	inMain   bool
	started  *server
	startErr error
)

// Main runs the tests of m and then stops the cluster they started, if
// any. Call it from TestMain.
func Main(m *testing.M) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	m.Run()
	mu.Lock()
	defer mu.Unlock()
	if started != nil && started.cluster != nil {
		if err := started.cluster.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop cluster: %v\n", err)
		}
	}
}

// DSN creates a new, empty database for tb and returns a DSN that
// connects to it. The database is dropped when tb ends (after the
// cleanups registered later, such as closing a store, have run).
func DSN(tb testing.TB) string {
	tb.Helper()
	srv := get(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "tracehound_test_" + randomHex(6)
	if err := adminExec(ctx, srv.adminDSN, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, srv.adminDSN, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := WithDatabase(srv.adminDSN, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// WithDatabase returns dsn with its database replaced by name; dsn is a
// URL (postgres://...) or keyword/value pairs.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("the DSN is not a valid URL")
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// In keyword/value form the last setting of a keyword wins.
	return strings.TrimSpace(dsn + " dbname=" + name), nil
}

// get returns the server, starting it on first use; it skips (or fails)
// tb when there is none.
func get(tb testing.TB) *server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if started == nil && startErr == nil {
		started, startErr = start()
	}
	if startErr != nil {
		tb.Fatalf("pgtest: %v", startErr)
	}
	if started.skip != "" {
		if os.Getenv(EnvRequired) != "" {
			tb.Fatalf("pgtest: %s (and %s is set)", started.skip, EnvRequired)
		}
		tb.Skipf("pgtest: %s", started.skip)
	}
	return started
}

func start() (*server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := adminExec(ctx, dsn, "SELECT 1"); err != nil {
			return nil, fmt.Errorf("connect to %s: %w", EnvDSN, err)
		}
		return &server{adminDSN: dsn}, nil
	}
	bin, err := findBinaries()
	if err != nil {
		return &server{skip: fmt.Sprintf("no PostgreSQL: set %s or install the postgresql package (%v)", EnvDSN, err)}, nil
	}
	if !inMain {
		return nil, errors.New("the cluster needs stopping at the end: call pgtest.Main from TestMain")
	}
	c, err := startCluster(bin)
	if err != nil {
		return nil, fmt.Errorf("start a cluster from %s: %w", bin, err)
	}
	return &server{adminDSN: c.dsn, cluster: c}, nil
}

// findBinaries returns the directory of the newest installed PostgreSQL
// server binaries.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no initdb and postgres in /usr/lib/postgresql/*/bin or on PATH")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// cluster is a throwaway PostgreSQL cluster.
type cluster struct {
	dir  string
	dsn  string
	cmd  *exec.Cmd
	done chan error // receives the postgres process's exit
}

// startCluster initialises a cluster in a new temporary directory and
// starts it on a free loopback port.
func startCluster(bin string) (*cluster, error) {
	// The postgres user must reach the directory: when the temporary
	// directory's path is closed to others, use /tmp.
	parent := os.TempDir()
	if os.Geteuid() == 0 && !traversable(parent) {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "tracehound-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	// PostgreSQL refuses to run as root: run it as the postgres user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	// An ICU collation that is not byte order makes a missing COLLATE "C"
	// show in the tests, as it would on most production servers.
	initdb := func(extra ...string) ([]byte, error) {
		args := append([]string{"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"}, extra...)
		cmd := exec.Command(filepath.Join(bin, "initdb"), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if _, err := initdb("--locale-provider=icu", "--icu-locale=en-US"); err != nil {
		os.RemoveAll(data)
		if out, err := initdb(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		err = c.startPostgres(bin, data, port, cred)
		if err == nil {
			break
		}
		if attempt == 2 {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

// startPostgres starts the server and waits until it accepts connections.
// Durability is off: the cluster is thrown away.
func (c *cluster) startPostgres(bin, data string, port int, cred *syscall.Credential) error {
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	if cred != nil {
		if err := logFile.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+c.dir, "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	// Pdeathsig stops the server if the test binary dies without running
	// Main's clean-up (a panic, a timeout); it fires when the thread that
	// started the server ends, so that thread stays locked and alive.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	c.done = make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.done <- c.cmd.Wait()
		select {} // keep the thread: its end would signal a restarted server
	}()
	if err := <-started; err != nil {
		return err
	}
	c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := adminExec(ctx, c.dsn, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-c.done:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited (%v): %s", werr, out)
		default:
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Signal(syscall.SIGQUIT)
			<-c.done
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections within a minute (%v): %s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (fast mode) and removes the cluster.
func (c *cluster) stop() error {
	if err := c.cmd.Process.Signal(syscall.SIGINT); err == nil {
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
	}
	return os.RemoveAll(c.dir)
}

// traversable reports whether every directory on the way to dir lets
// others through.
func traversable(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// adminExec runs one statement on its own connection.
func adminExec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
