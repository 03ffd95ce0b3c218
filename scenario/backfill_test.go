package scenario

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

var testStart = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // a Monday

// backfillTo runs a backfill of o to a fresh receiver and returns what it
// received, the summary and the manifest directory.
func backfillTo(t *testing.T, o Options) (*receiver, Summary, string) {
	t.Helper()
	rc := newReceiver(t)
	o.Endpoint = rc.endpoint()
	o.ManifestDir = t.TempDir()
	sum, err := Backfill(t.Context(), o)
	if err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	return rc, sum, o.ManifestDir
}

func readManifest(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatalf("manifest is not CSV: %v", err)
	}
	if !slices.Equal(rows[0], ManifestColumns) {
		t.Fatalf("manifest header = %v, want %v", rows[0], ManifestColumns)
	}
	return rows[1:]
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// The server span attributes otelhttp v0.72 sets (RequestTraceAttrs and
// ResponseTraceAttrs), then those the DataVault handlers add.
var (
	otelhttpKeys = []string{
		"server.address", "http.request.method", "url.scheme", "server.port", "network.peer.address",
		"network.peer.port", "user_agent.original", "client.address", "url.path", "network.protocol.version",
		"http.route", "http.request.body.size", "http.response.body.size", "http.response.status_code",
	}
	appKeys = []string{"url.query", "enduser.id", "app.api_key_id", "app.account.plan", "app.signup.email_domain"}
)

func TestBackfillRoundTrip(t *testing.T) {
	rc, sum, dir := backfillTo(t, Options{Start: testStart, Days: 1, Scale: 0.0005, Seed: 7})
	spans := rc.all()
	if int64(len(spans)) != sum.Spans {
		t.Fatalf("receiver got %d spans, summary says %d were emitted", len(spans), sum.Spans)
	}
	rows := readManifest(t, dir)
	if int64(len(rows)) != sum.Requests {
		t.Fatalf("manifest has %d rows, summary says %d requests", len(rows), sum.Requests)
	}

	allowed := map[string]bool{}
	for _, k := range append(slices.Clone(otelhttpKeys), appKeys...) {
		allowed[k] = true
	}
	byID := map[string]*receivedSpan{}
	servers := map[string]*receivedSpan{} // by trace id
	for i := range spans {
		s := &spans[i]
		byID[s.spanID] = s
		if s.kind == "Server" {
			if servers[s.traceID] != nil {
				t.Fatalf("trace %s has two server spans", s.traceID)
			}
			servers[s.traceID] = s
		}
	}
	if int64(len(servers)) != sum.Requests {
		t.Fatalf("got %d server spans, want one per request (%d)", len(servers), sum.Requests)
	}
	var export *receivedSpan
	for _, s := range servers {
		if s.scope != "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp" {
			t.Fatalf("server span scope = %q, want otelhttp's", s.scope)
		}
		for _, k := range s.keys {
			if !allowed[k] {
				t.Fatalf("server span %q has attribute %q, which neither otelhttp nor the service sets", s.name, k)
			}
		}
		for _, k := range []string{"server.address", "http.request.method", "url.scheme", "network.peer.address", "client.address", "url.path", "http.route", "http.response.status_code"} {
			if _, ok := s.attrs[k]; !ok {
				t.Fatalf("server span %q lacks %q: %v", s.name, k, s.attrs)
			}
		}
		if want := s.attrs["http.request.method"].(string) + " " + s.attrs["http.route"].(string); s.name != want {
			t.Fatalf("server span name = %q, want %q", s.name, want)
		}
		if s.resource["service.name"] != ServiceName || s.resource["deployment.environment"] != Environment || s.resource["service.version"] != ServiceVersion {
			t.Fatalf("resource = %v", s.resource)
		}
		if id, ok := s.attrs["app.api_key_id"].(string); ok && (!strings.HasPrefix(id, "dvk_") || strings.Contains(id, "dvs_")) {
			t.Fatalf("app.api_key_id = %q, want a public dvk_ id", id)
		}
		// The largest successful export: day 1 also pages past the end,
		// which answers 200 with an empty page.
		if s.attrs["http.route"] == "/v1/admin/export" && s.attrs["http.response.status_code"] == int64(200) &&
			(export == nil || s.attrs["http.response.body.size"].(int64) > export.attrs["http.response.body.size"].(int64)) {
			export = s
		}
	}
	if export == nil {
		t.Fatal("no successful /v1/admin/export span on day 1")
	}
	if export.attrs["client.address"] != ExfilIPs[0] || export.attrs["app.account.plan"] != planTrial ||
		export.attrs["user_agent.original"] != exfilUA || !strings.Contains(export.attrs["url.query"].(string), "collection_id=") {
		t.Fatalf("export span attributes = %v", export.attrs)
	}
	if export.attrs["http.response.body.size"].(int64) < 1000 {
		t.Fatalf("export response size = %v, want a page of metadata", export.attrs["http.response.body.size"])
	}

	// Children hang off their server span, inside it.
	children := map[string][]string{}
	for _, s := range spans {
		if s.kind == "Server" {
			continue
		}
		p := byID[s.parentID]
		if p == nil || p.kind != "Server" || p.traceID != s.traceID {
			t.Fatalf("span %q has parent %q, want its trace's server span", s.name, s.parentID)
		}
		if s.start < p.start || s.end > p.end {
			t.Fatalf("child %q [%d,%d] outside its server span [%d,%d]", s.name, s.start, s.end, p.start, p.end)
		}
		children[s.traceID] = append(children[s.traceID], s.name)
	}
	if got := children[export.traceID]; !slices.Equal(got, []string{"GET", "SELECT collections", "SELECT documents"}) {
		t.Fatalf("export children = %v", got)
	}

	// The manifest names the trace of every request.
	for _, row := range rows {
		s := servers[row[0]]
		if s == nil {
			t.Fatalf("manifest row %v names no received trace", row)
		}
		if s.attrs["client.address"] != row[2] || s.attrs["http.route"] != row[9] {
			t.Fatalf("manifest row %v disagrees with span %v", row, s.attrs)
		}
	}
}

func TestBackfillDeterministic(t *testing.T) {
	o := Options{Scenario: "bola-enumeration", Start: testStart, Days: 1, Scale: 0.0003, Seed: 42}
	rc1, sum1, dir1 := backfillTo(t, o)
	rc2, sum2, dir2 := backfillTo(t, o)
	o.Seed = 43
	rc3, _, dir3 := backfillTo(t, o)

	h1, h2, h3 := hashSpans(rc1.all()), hashSpans(rc2.all()), hashSpans(rc3.all())
	if h1 != h2 {
		t.Errorf("same seed: span hashes %s and %s differ", h1, h2)
	}
	if h1 == h3 {
		t.Errorf("seeds 42 and 43 gave the same spans")
	}
	m1, m2, m3 := fileHash(t, filepath.Join(dir1, ManifestFile)), fileHash(t, filepath.Join(dir2, ManifestFile)), fileHash(t, filepath.Join(dir3, ManifestFile))
	if m1 != m2 {
		t.Errorf("same seed: manifest hashes %s and %s differ", m1, m2)
	}
	if m1 == m3 {
		t.Errorf("seeds 42 and 43 gave the same manifest")
	}
	if sum1.Requests != sum2.Requests || sum1.Spans != sum2.Spans {
		t.Errorf("same seed: %d and %d requests, %d and %d spans", sum1.Requests, sum2.Requests, sum1.Spans, sum2.Spans)
	}
	var fromFile Summary
	b, err := os.ReadFile(filepath.Join(dir1, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromFile); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if fromFile.Requests != sum1.Requests || fromFile.Scenario != "bola-enumeration" {
		t.Errorf("summary.json = %+v, want the returned summary", fromFile)
	}
}

func TestBackfillOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"unknown scenario", Options{Scenario: "nope", Days: 1, Scale: 1, Endpoint: "127.0.0.1:1"}},
		{"no days", Options{Days: 0, Scale: 1, Endpoint: "127.0.0.1:1"}},
		{"no scale", Options{Days: 1, Scale: 0, Endpoint: "127.0.0.1:1"}},
		{"bad protocol", Options{Days: 1, Scale: 1, Protocol: "udp", Endpoint: "127.0.0.1:1"}},
		{"no endpoint", Options{Days: 1, Scale: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Backfill(context.Background(), tc.o); err == nil {
				t.Errorf("Backfill(%+v) = nil error, want one", tc.o)
			}
		})
	}
}

func TestDefaultStart(t *testing.T) {
	for _, tc := range []struct {
		now  string
		days int
		want string
	}{
		{"2025-03-06T12:00:00Z", 4, "2025-03-03T00:00:00Z"}, // containment at 11:00 just passed
		{"2025-03-06T10:59:00Z", 4, "2025-03-02T00:00:00Z"}, // not yet: one day earlier
		{"2025-03-06T23:00:00+02:00", 1, "2025-03-06T00:00:00Z"},
		{"2025-03-06T12:00:00Z", 7, "2025-02-28T00:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		if got := DefaultStart(now, tc.days).Format(time.RFC3339); got != tc.want {
			t.Errorf("DefaultStart(%s, %d) = %s, want %s", tc.now, tc.days, got, tc.want)
		}
	}
}

// grpcReceiver counts the spans of OTLP/gRPC exports.
type grpcReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
}

func (g *grpcReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	g.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

func TestBackfillGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rcv := &grpcReceiver{}
	ptraceotlp.RegisterGRPCServer(srv, rcv)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)

	sum, err := Backfill(t.Context(), Options{Scenario: "credential-stuffing", Start: testStart, Days: 1, Scale: 0.0002, Seed: 1, Endpoint: ln.Addr().String(), Protocol: ProtocolGRPC})
	if err != nil {
		t.Fatalf("Backfill over gRPC: %v", err)
	}
	if got := rcv.spans.Load(); got != sum.Spans || got == 0 {
		t.Errorf("gRPC receiver got %d spans, summary says %d", got, sum.Spans)
	}
}

func TestBackfillReportsLostSpans(t *testing.T) {
	// A receiver that refuses everything: the backfill must fail, not
	// pretend the spans arrived.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer srv.Close()
	_, err := Backfill(t.Context(), Options{Start: testStart, Days: 1, Scale: 0.0002, Seed: 1, Endpoint: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "lost") {
		t.Errorf("Backfill to a refusing receiver = %v, want an error about lost spans", err)
	}
}

func TestBackfillProgress(t *testing.T) {
	rc := newReceiver(t)
	var calls, last, total int64
	sum, err := Backfill(t.Context(), Options{Scenario: "bola-enumeration", Start: testStart, Days: 1, Scale: 0.0002, Seed: 1, Endpoint: rc.endpoint(),
		Progress: func(done, tot int64) {
			if done < last || (total != 0 && tot != total) {
				t.Errorf("progress went from %d/%d to %d/%d", last, total, done, tot)
			}
			calls, last, total = calls+1, done, tot
		}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 3 || last != sum.Requests || total != sum.Requests {
		t.Errorf("%d progress calls ending at %d/%d, want several ending at %d/%d", calls, last, total, sum.Requests, sum.Requests)
	}
}
