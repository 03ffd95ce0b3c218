package main

// Crash, overload and disk-full tests of the real binary (issue M10 §6).
// They send traffic to loopback only, are bounded in time, and run when
// TRACEHOUND_FAULT_TESTS is set (`make test` sets it and prints their
// figures); they take about two minutes together.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func faultTest(t *testing.T) {
	t.Helper()
	if os.Getenv("TRACEHOUND_FAULT_TESTS") == "" {
		t.Skip("set TRACEHOUND_FAULT_TESTS=1 (make test does) to run the crash, overload and disk-full tests")
	}
}

// figures prints a test's measured figures where `make test` shows them.
func figures(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf("FIGURES %s: "+format, append([]any{t.Name()}, args...)...)
	t.Log(msg)
	fmt.Fprintln(os.Stderr, msg)
}

// proc is a tracehound server process on loopback ports.
type proc struct {
	cmd    *exec.Cmd
	api    string // http://host:port
	otlp   string // http://host:port/v1/traces
	data   string
	stderr *bytes.Buffer
	exited chan struct{}
}

func loopbackAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProc starts `tracehound serve` on data, optionally with a config
// file's contents.
func startProc(t *testing.T, data, config string) *proc {
	t.Helper()
	apiAddr, otlpAddr := loopbackAddr(t), loopbackAddr(t)
	args := []string{"serve", "--data", data, "--listen", apiAddr, "--otlp-http", otlpAddr, "--otlp-grpc", ""}
	if config != "" {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	p := &proc{cmd: exec.Command("tracehound", args...), api: "http://" + apiAddr, otlp: "http://" + otlpAddr + "/v1/traces", data: data,
		stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exited })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.api + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("server exited at start:\n%s", p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s:\n%s", p.log())
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) log() string {
	w := p.cmd.Stderr.(*lockedWriter)
	w.mu.Lock()
	defer w.mu.Unlock()
	return p.stderr.String()
}

// stop interrupts the server and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("server did not stop within 60s")
	}
}

// sql runs a query through the API with the data directory's CLI token.
func (p *proc) sql(t *testing.T, q string) [][]any {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(p.data, "cli-token"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"sql": q})
	req, _ := http.NewRequest(http.MethodPost, p.api+"/api/v1/sql", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Columns []string         `json:"columns"`
		Rows    []map[string]any `json:"rows"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("sql %q: %d %s", q, resp.StatusCode, b)
	}
	rows := make([][]any, len(out.Rows))
	for i, r := range out.Rows {
		for _, c := range out.Columns {
			rows[i] = append(rows[i], r[c])
		}
	}
	return rows
}

// batchBody is one export request of n server spans whose trace id
// encodes (client, batch), so that the store can be checked batch by batch.
func batchBody(client, batch, n int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "fault-api")
	ss := rs.ScopeSpans().AppendEmpty()
	var tid [16]byte
	binary.BigEndian.PutUint64(tid[:8], uint64(client)+1)
	binary.BigEndian.PutUint64(tid[8:], uint64(batch)+1)
	now := time.Now()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName("GET /v1/items/{id}")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", "/v1/items/"+strconv.Itoa(i))
		a.PutInt("http.response.status_code", 200)
		a.PutStr("client.address", "198.51.100.7")
		a.PutStr("user_agent.original", "fault-test/1")
		a.PutStr("app.padding", strings.Repeat("x", 200))
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err)
	}
	return b
}

func traceHex(client, batch int) string {
	var tid [16]byte
	binary.BigEndian.PutUint64(tid[:8], uint64(client)+1)
	binary.BigEndian.PutUint64(tid[8:], uint64(batch)+1)
	return fmt.Sprintf("%x", tid)
}

func post(client *http.Client, url string, body []byte) (int, http.Header, error) {
	return postEncoded(client, url, body, "")
}

// postEncoded posts an export body, gzip-compressed when encoding says so.
func postEncoded(client *http.Client, url string, body []byte, encoding string) (int, http.Header, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// storedBatches counts each batch's spans and distinct spans.
func storedBatches(t *testing.T, p *proc) (spans map[string]int64, distinct map[string]int64) {
	spans, distinct = map[string]int64{}, map[string]int64{}
	for _, r := range p.sql(t, "SELECT trace_id, count() AS n, uniqExact(span_id) AS d FROM traces GROUP BY trace_id") {
		id, _ := r[0].(string)
		n, _ := r[1].(float64)
		d, _ := r[2].(float64)
		spans[id], distinct[id] = int64(n), int64(d)
	}
	return spans, distinct
}

// TestFaultKillDuringIngest kills the server with SIGKILL while two
// clients ingest, restarts it, and checks that every acknowledged span is
// stored, once.
func TestFaultKillDuringIngest(t *testing.T) {
	faultTest(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startProc(t, data, "")
	const perBatch = 200
	var mu sync.Mutex
	acked := map[string]bool{}
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				code, _, err := post(hc, p.otlp, batchBody(c, b, perBatch))
				if err != nil {
					return // the server is gone
				}
				if code == http.StatusOK {
					mu.Lock()
					acked[traceHex(c, b)] = true
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(4 * time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	close(stop)
	wg.Wait()

	p2 := startProc(t, data, "")
	spans, distinct := storedBatches(t, p2)
	var lost, dups, extra int64
	for id := range acked {
		if distinct[id] < perBatch {
			lost += perBatch - distinct[id]
		}
	}
	var found int64
	for id, n := range spans {
		found += n
		dups += n - distinct[id]
		if !acked[id] {
			extra += n
		}
	}
	figures(t, "requests sent %d, acknowledged %d spans in %d batches; found %d spans after restart (%d of batches in flight at the kill); lost %d; duplicates %d",
		sent.Load(), int64(len(acked))*perBatch, len(acked), found, extra, lost, dups)
	if len(acked) < 10 {
		t.Fatalf("only %d batches acknowledged before the kill: the test proved little", len(acked))
	}
	if lost > 0 {
		t.Errorf("%d acknowledged spans lost", lost)
	}
	if dups > 0 {
		t.Errorf("%d spans stored twice", dups)
	}
	p2.stop(t)
}

// TestFaultOverload offers three times the ingest capacity for 60 s from
// clients that ignore Retry-After: the server throttles with 429/503 and
// Retry-After, its memory stays bounded, the API answers within 500 ms at
// p99, and ingest recovers once the load stops.
func TestFaultOverload(t *testing.T) {
	faultTest(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startProc(t, data, "")
	// Compressed bodies keep the clients cheap, so that two cores shared
	// with the server can offer it several times what it can take.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(batchBody(0, 0, 512))
	zw.Close()
	body := gz.Bytes()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 30 * time.Second}

	// Capacity: what four well-behaved clients get acknowledged in 5 s.
	measure := func(clients int, d time.Duration, obey bool) (acked, offered, throttled, noRetryAfter, failed int64) {
		var a, o, th, nra, f atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					o.Add(512)
					code, h, err := postEncoded(hc, p.otlp, body, "gzip")
					switch {
					case err != nil:
						f.Add(1)
						time.Sleep(10 * time.Millisecond)
					case code == http.StatusOK:
						a.Add(512)
					case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
						th.Add(1)
						if h.Get("Retry-After") == "" {
							nra.Add(1)
						}
						if obey {
							time.Sleep(250 * time.Millisecond)
						}
					default:
						f.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return a.Load(), o.Load(), th.Load(), nra.Load(), f.Load()
	}
	capAcked, _, _, _, _ := measure(4, 5*time.Second, true)
	capacity := float64(capAcked) / 5

	// Overload: 384 clients that never back off, while a monitor samples
	// the API's latency and the server's memory.
	var lat []time.Duration
	var peakRSS int64
	stop := make(chan struct{})
	var mon sync.WaitGroup
	mon.Add(1)
	go func() {
		defer mon.Done()
		tok, _ := os.ReadFile(filepath.Join(data, "cli-token"))
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			req, _ := http.NewRequest(http.MethodGet, p.api+"/api/v1/status", nil)
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
			t0 := time.Now()
			resp, err := http.DefaultClient.Do(req)
			d := time.Since(t0)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					d = time.Hour // an error counts as unresponsive
				}
			} else {
				d = time.Hour
			}
			lat = append(lat, d)
			if rss := procRSS(p.cmd.Process.Pid); rss > peakRSS {
				peakRSS = rss
			}
		}
	}()
	const overload = 60 * time.Second
	acked, offered, throttled, noRA, failed := measure(384, overload, false)
	close(stop)
	mon.Wait()

	// Recovery: a well-behaved request is acknowledged within 30 s.
	var recovered time.Duration
	t0 := time.Now()
	for time.Since(t0) < 30*time.Second {
		if code, _, err := post(hc, p.otlp, batchBody(1, 1, 100)); err == nil && code == http.StatusOK {
			recovered = time.Since(t0)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	ratio := float64(offered) / overload.Seconds() / capacity
	figures(t, "capacity %.0f spans/s; offered %.1fx capacity for %s; acknowledged %.0f spans/s; throttled %d requests (%d without Retry-After), %d failed; API p99 %s over %d samples; peak RSS %d MiB; recovered in %s",
		capacity, ratio, overload, float64(acked)/overload.Seconds(), throttled, noRA, failed, p99.Round(time.Millisecond), len(lat), peakRSS>>20, recovered.Round(time.Millisecond))
	if ratio < 3 {
		t.Errorf("offered only %.1fx capacity", ratio)
	}
	if throttled == 0 {
		t.Error("no request was throttled under overload")
	}
	if noRA > 0 {
		t.Errorf("%d throttled answers without Retry-After", noRA)
	}
	if p99 > 500*time.Millisecond {
		t.Errorf("API p99 latency %s under overload, want ≤ 500ms", p99)
	}
	if peakRSS > 2<<30 {
		t.Errorf("peak RSS %d MiB under overload: memory is not bounded", peakRSS>>20)
	}
	if recovered == 0 {
		t.Error("ingest did not recover within 30s of the load stopping")
	}
	p.stop(t)
}

func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestFaultDiskFull fills the data directory's file system while ingesting:
// writes fail with a clear error and are not acknowledged, the server keeps
// answering, ingest resumes by itself once the disk has room again, and
// after a restart every acknowledged span is there, once.
func TestFaultDiskFull(t *testing.T) {
	faultTest(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small file system to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	data := filepath.Join(mnt, "data")
	p := startProc(t, data, "")
	hc := &http.Client{Timeout: 30 * time.Second}
	const perBatch = 500
	acked := map[string]bool{}
	var refused, firstRefusal int
	var refusalCode int
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for b := 0; ctx.Err() == nil && refused < 20; b++ {
		code, _, err := post(hc, p.otlp, batchBody(0, b, perBatch))
		if err != nil {
			t.Fatalf("batch %d: the server stopped answering: %v\n%s", b, err, p.log())
		}
		if code == http.StatusOK {
			acked[traceHex(0, b)] = true
			continue
		}
		if refused == 0 {
			firstRefusal, refusalCode = b, code
		}
		refused++
	}
	if refused == 0 {
		t.Fatalf("48 MiB never filled up after %d batches", len(acked))
	}
	// The server still answers and says why.
	resp, err := http.Get(p.api + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("server unhealthy on a full disk: %v", err)
	}
	resp.Body.Close()
	// Room again: ingest resumes by itself, without a restart.
	if out, err := exec.Command("mount", "-o", "remount,size=512m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	freed := time.Now()
	var resumed time.Duration
	for b, after := len(acked)+refused, 0; after < 5 && time.Since(freed) < 30*time.Second; b++ {
		code, _, err := post(hc, p.otlp, batchBody(0, b, perBatch))
		if err != nil {
			t.Fatalf("after the disk has room: %v\n%s", err, p.log())
		}
		if code != http.StatusOK {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if resumed == 0 {
			resumed = time.Since(freed)
		}
		acked[traceHex(0, b)] = true
		after++
	}
	if resumed == 0 {
		t.Errorf("ingest did not resume within 30 s of the disk having room:\n%s", tail(p.log(), 3000))
	}
	logText := p.log()
	clear := strings.Contains(logText, "no space left") || strings.Contains(logText, "No space left")
	p.stop(t)

	// After a restart the store opens and holds every acknowledged span.
	p2 := startProc(t, data, "")
	spans, distinct := storedBatches(t, p2)
	var lost, dups int64
	for id := range acked {
		lost += max(0, perBatch-distinct[id])
	}
	for id, n := range spans {
		dups += n - distinct[id]
	}
	figures(t, "first refusal after %d acknowledged spans (HTTP %d); %d exports refused; error logged clearly %v; ingest resumed %.1f s after the disk had room; %d spans acknowledged in all; after restart lost %d, duplicates %d",
		firstRefusal*perBatch, refusalCode, refused, clear, resumed.Seconds(), len(acked)*perBatch, lost, dups)
	if !clear {
		t.Errorf("the server's log does not say the disk is full:\n%s", tail(logText, 2000))
	}
	if refusalCode == http.StatusOK || refusalCode/100 == 4 && refusalCode != http.StatusTooManyRequests {
		t.Errorf("a full disk answered HTTP %d; want a retryable 5xx or 429", refusalCode)
	}
	if lost > 0 || dups > 0 {
		t.Errorf("after the disk filled: %d acknowledged spans lost, %d duplicated\nfirst run:\n%s\nafter restart:\n%s", lost, dups, tail(logText, 3000), tail(p2.log(), 3000))
	}
	// It ingests again.
	if code, _, err := post(hc, p2.otlp, batchBody(1, 0, 10)); err != nil || code != http.StatusOK {
		t.Errorf("ingest after the disk has room: %d %v", code, err)
	}
	p2.stop(t)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
