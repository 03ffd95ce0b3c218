// Command loadgen measures end-to-end OTLP/HTTP ingest: it starts a
// tracehound server process on loopback (or uses a running one), sends
// protobuf export requests from concurrent clients for a fixed time, and
// reports acknowledged spans per second, request latency, throttling, the
// server's peak RSS, and whether every acknowledged span was stored.
//
// Traffic goes to 127.0.0.1 only and stops by itself after -duration.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func main() { os.Exit(run()) }

// run measures and returns the exit code: 1 when acknowledged spans were
// not stored. Returning, not exiting, stops the server it started.
func run() int {
	server := flag.String("server", "bin/tracehound", "tracehound binary to start (ignored with -target)")
	target := flag.String("target", "", "base URL of a running server's API port (e.g. http://127.0.0.1:8080); its OTLP/HTTP is taken from -otlp")
	otlpURL := flag.String("otlp", "", "OTLP/HTTP URL with -target (e.g. http://127.0.0.1:4318/v1/traces)")
	duration := flag.Duration("duration", 60*time.Second, "how long to send")
	clients := flag.Int("clients", 2, "concurrent clients")
	inflight := flag.Int("inflight", 1, "requests each client keeps in flight")
	spans := flag.Int("spans", 512, "spans per request")
	attrs := flag.Int("attrs", 20, "attributes per span")
	token := flag.String("token", os.Getenv("TRACEHOUND_TOKEN"), "API token of the -target server, to count the stored spans (TRACEHOUND_TOKEN)")
	flag.Parse()
	if *duration > 10*time.Minute {
		fail("-duration is capped at 10m")
	}

	api, ingest := *target, *otlpURL
	var pid int
	tokenFile := ""
	if api == "" {
		dir, err := os.MkdirTemp("", "tracehound-loadgen-")
		check(err)
		defer os.RemoveAll(dir)
		apiAddr, otlpAddr := freeAddr(), freeAddr()
		data := filepath.Join(dir, "data")
		cmd := exec.Command(*server, "serve", "--data", data, "--listen", apiAddr, "--otlp-http", otlpAddr, "--otlp-grpc", "")
		cmd.Stderr = os.Stderr
		check(cmd.Start())
		defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
		pid = cmd.Process.Pid
		tokenFile = filepath.Join(data, "cli-token") // the CLI's token, which serve writes
		api, ingest = "http://"+apiAddr, "http://"+otlpAddr+"/v1/traces"
		waitReady(api + "/readyz")
	}
	if ingest == "" {
		fail("-otlp is required with -target")
	}

	bodies := make([][]byte, 32)
	for i := range bodies {
		bodies[i] = exportBody(i, *spans, *attrs)
	}
	fmt.Printf("loadgen: %d clients x %d in flight, %d spans/request, %d attributes/span, %s, %.0f KiB/request\n",
		*clients, *inflight, *spans, *attrs, *duration, float64(len(bodies[0]))/1024)

	var acked, throttled, failed, requests atomic.Int64
	var latMu sync.Mutex
	var latencies []time.Duration
	var peakRSS atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if pid != 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if rss := readRSS(pid); rss > peakRSS.Load() {
					peakRSS.Store(rss)
				}
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
			}
		}()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients * *inflight}, Timeout: time.Minute}
	cpu0 := readCPU(pid)
	start := time.Now()
	deadline := start.Add(*duration)
	var senders sync.WaitGroup
	for c := range *clients * *inflight {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for i := c; time.Now().Before(deadline); i += *clients * *inflight {
				body := bodies[i%len(bodies)]
				t0 := time.Now()
				resp, err := client.Post(ingest, "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests.Add(1)
				switch resp.StatusCode {
				case http.StatusOK:
					acked.Add(int64(*spans))
					latMu.Lock()
					latencies = append(latencies, time.Since(t0))
					latMu.Unlock()
				case http.StatusTooManyRequests, http.StatusServiceUnavailable:
					throttled.Add(1)
					wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
					time.Sleep(time.Duration(max(wait, 1)) * time.Second / 4)
				default:
					failed.Add(1)
				}
			}
		}()
	}
	var last int64
	for t := time.Now(); time.Now().Before(deadline); {
		time.Sleep(5 * time.Second)
		now := acked.Load()
		fmt.Printf("  %5.0fs  %8.0f spans/s  rss %s\n", time.Since(start).Seconds(), float64(now-last)/time.Since(t).Seconds(), mib(peakRSS.Load()))
		last, t = now, time.Now()
	}
	senders.Wait()
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	// Queries do not wait for a large backlog of acknowledged spans to
	// be committed: count until every acknowledged span is there, or
	// the count stops growing.
	if *token == "" && tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: the server's token:", err)
			return 2
		}
		*token = strings.TrimSpace(string(b))
	}
	var stored int64
	for began, changed := time.Now(), time.Now(); ; time.Sleep(500 * time.Millisecond) {
		n, err := storedSpans(api, *token)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: counting the stored spans: %v\n", err)
			stored = -1
			break
		}
		if n != stored {
			stored, changed = n, time.Now()
		}
		if n >= acked.Load() || time.Since(changed) > 5*time.Second || time.Since(began) > 2*time.Minute {
			break
		}
	}
	cpu := readCPU(pid) - cpu0
	rate := float64(acked.Load()) / elapsed.Seconds()
	fmt.Printf("\nacknowledged %d spans in %.1fs = %.0f spans/s; %d requests, %d throttled, %d failed\n",
		acked.Load(), elapsed.Seconds(), rate, requests.Load(), throttled.Load(), failed.Load())
	fmt.Printf("request latency p50 %s p99 %s; server peak RSS %s; stored %d spans (acknowledged %d: %s)\n",
		pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), mib(peakRSS.Load()), stored, acked.Load(),
		map[bool]string{true: "none lost", false: "LOST SPANS"}[stored >= acked.Load()])
	if pid != 0 && acked.Load() > 0 {
		// CPU is steadier than the rate, which moves with what else the
		// machine runs: it includes committing the backlog after the last
		// request.
		fmt.Printf("server CPU %.1f s (%.2f cores while sending) = %.1f µs per span\n",
			cpu.Seconds(), cpu.Seconds()/elapsed.Seconds(), float64(cpu.Microseconds())/float64(acked.Load()))
	}
	if stored < acked.Load() {
		return 1
	}
	return 0
}

// exportBody builds one export request: server spans carrying what HTTP
// instrumentation records, plus application attributes up to attrs.
func exportBody(seed, spans, attrs int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "loadgen-api")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("deployment.environment", "production")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	now := time.Now()
	paths := []string{"/v1/documents/%d", "/v1/collections/%d/documents", "/v1/search", "/v1/admin/export", "/v1/users/%d"}
	for i := range spans {
		sp := ss.Spans().AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		for j := range tid {
			tid[j] = byte(r.Uint32())
		}
		for j := range sid {
			sid[j] = byte(r.Uint32())
		}
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetKind(ptrace.SpanKindServer)
		p := paths[r.IntN(len(paths))]
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, r.IntN(100000))
		}
		sp.SetName("GET " + p)
		ts := now.Add(time.Duration(i) * time.Millisecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(ts))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(ts.Add(time.Duration(r.IntN(200_000_000)))))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", p)
		a.PutStr("url.query", fmt.Sprintf("page=%d&limit=50", r.IntN(20)))
		a.PutStr("url.scheme", "https")
		a.PutInt("http.response.status_code", []int64{200, 200, 200, 200, 404, 500}[r.IntN(6)])
		a.PutStr("client.address", fmt.Sprintf("203.0.%d.%d", r.IntN(256), r.IntN(256)))
		a.PutStr("network.peer.address", "10.0.0.4")
		a.PutInt("network.peer.port", int64(30000+r.IntN(30000)))
		a.PutStr("server.address", "api.example.test")
		a.PutInt("server.port", 443)
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
		a.PutInt("http.response.body.size", int64(r.IntN(200_000)))
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("app.api_key_id", fmt.Sprintf("dvk_%06d", r.IntN(500)))
		a.PutStr("enduser.id", fmt.Sprintf("acct_%04d", r.IntN(500)))
		for j := a.Len(); j < attrs; j++ {
			a.PutStr(fmt.Sprintf("app.attr_%02d", j), fmt.Sprintf("value-%d", r.IntN(1000)))
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	check(err)
	return b
}

// storedSpans counts the server's spans through its SQL API with token.
func storedSpans(api, token string) (int64, error) {
	body, _ := json.Marshal(map[string]string{"sql": "SELECT count() AS n FROM traces"})
	req, err := http.NewRequest(http.MethodPost, api+"/api/v1/sql", bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return -1, fmt.Errorf("%s: %s (with -target, give the server's token with -token or TRACEHOUND_TOKEN)", resp.Status, bytes.TrimSpace(b))
	}
	var out struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Rows) == 0 {
		return -1, fmt.Errorf("unexpected answer %.200s", b)
	}
	n, ok := out.Rows[0]["n"].(float64)
	if !ok {
		return -1, fmt.Errorf("unexpected count %v", out.Rows[0]["n"])
	}
	return int64(n), nil
}

func readRSS(pid int) int64 {
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

// readCPU is the user and system CPU time pid has used (0 if unknown).
func readCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicks = 100

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(url string) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	fail("server not ready: " + url)
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "loadgen:", msg)
	os.Exit(2)
}
