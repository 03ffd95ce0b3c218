package ipintel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// openTestEnricher wires a fake AbuseIPDB, real mmdb files, a range CSV and
// the embedded data-center set through Open, as the app will.
func openTestEnricher(t *testing.T, f *fakeAbuseIPDB, mod func(*Config)) *Enricher {
	t.Helper()
	dir := t.TempDir()
	city := writeMMDB(t, "GeoLite2-City", []mmdbEntry{
		{"104.248.64.0/19", cityData("NL", "Netherlands", "Amsterdam")},
		{"167.71.192.0/19", cityData("DE", "Germany", "Frankfurt am Main")},
	})
	asnPath := filepath.Join(dir, "asn-ipv4.csv")
	writeFile(t, asnPath, asnCSV)
	keyPath := filepath.Join(dir, "abuseipdb.key")
	writeFile(t, keyPath, testKey+"\n")
	torPath := filepath.Join(dir, "tor.txt")
	writeFile(t, torPath, "185.220.101.1\n")
	cfg := Config{
		AbuseIPDB: AbuseIPDBConfig{KeyFile: keyPath},
		MMDB:      []string{city},
		ASNCSV:    []string{asnPath},
		CountryCSV: []string{func() string {
			p := filepath.Join(dir, "country.csv")
			writeFile(t, p, countryCSV)
			return p
		}()},
		TorExitList: torPath,
		Concurrency: 4,
	}
	if f != nil {
		cfg.AbuseIPDB.BaseURL = f.URL + "/api/v2"
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestEnrichReferenceAttackers(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		ip := r.URL.Query().Get("ipAddress")
		jsonReply(w, 200, fmt.Sprintf(`{"data":{"ipAddress":%q,"isPublic":true,"ipVersion":4,"isWhitelisted":false,
"abuseConfidenceScore":87,"countryCode":"NL","countryName":"Netherlands","usageType":"Data Center/Web Hosting/Transit",
"isp":"DigitalOcean LLC","domain":"digitalocean.com","hostnames":[],"isTor":false,"totalReports":42,"numDistinctUsers":17,
"lastReportedAt":"2026-02-27T08:00:00+00:00"}}`, ip))
	})
	e := openTestEnricher(t, f, nil)
	var calls []int
	recs, err := e.Enrich(context.Background(), addrs("104.248.73.19", "167.71.205.88", "10.0.0.7", "104.248.73.19"), func(done, total int) {
		if total != 3 {
			t.Errorf("progress total = %d, want 3 distinct", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []int{1, 2, 3}) {
		t.Errorf("progress calls = %v, want 1, 2, 3", calls)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records for 4 addresses", len(recs))
	}
	a := recs[0]
	if a.IP.String() != "104.248.73.19" || a.AbuseConfidence != 87 || a.TotalReports != 42 || a.DistinctReporters != 17 ||
		a.UsageType != "Data Center/Web Hosting/Transit" || a.ASN != 14061 || a.ASOrg != "DigitalOcean, LLC" ||
		a.Country != "NL" || a.CountryName != "Netherlands" || a.City != "Amsterdam" || !a.IsPublic || a.ISP != "DigitalOcean LLC" {
		t.Errorf("record 0 = %+v", a)
	}
	wantSources := []string{"abuseipdb", "mmdb:GeoLite2-City", "asn_csv", "country_csv", "datacenter_asns"}
	if !slices.Equal(a.Sources, wantSources) {
		t.Errorf("Sources = %v, want %v", a.Sources, wantSources)
	}
	if a.NotEnriched["rdns"] != ReasonDisabled || len(a.NotEnriched) != 1 {
		t.Errorf("NotEnriched = %v, want only rdns disabled", a.NotEnriched)
	}
	// AbuseIPDB's country wins; the city of another country is not mixed in.
	if b := recs[1]; b.Country != "NL" || b.City != "" {
		t.Errorf("record 1 country/city = %s/%s, want NL and no city", b.Country, b.City)
	}
	p := recs[2]
	if p.IsPublic || p.NotEnriched["abuseipdb"] != ReasonNotPublic || slices.Contains(p.Sources, "abuseipdb") {
		t.Errorf("private record = %+v", p)
	}
	if recs[3].IP != recs[0].IP || recs[3].AbuseConfidence != 87 {
		t.Errorf("duplicate address got %+v", recs[3])
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d AbuseIPDB calls, want 2 (private skipped, duplicate once)", n)
	}
	if _, err := e.Enrich(context.Background(), addrs("104.248.73.19"), nil); err != nil || f.calls.Load() != 2 {
		t.Errorf("second Enrich: %v, %d calls; want the cached record", err, f.calls.Load())
	}
}

func TestEnrichOfflineDataCenter(t *testing.T) {
	e := openTestEnricher(t, nil, func(c *Config) { c.AbuseIPDB.KeyFile = "" })
	recs, err := e.Enrich(context.Background(), addrs("178.128.44.156", "1.0.0.1", "185.220.101.1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	do := recs[0]
	if do.UsageType != UsageDataCenter || do.ASN != 14061 || do.Country != "GB" || do.NotEnriched["abuseipdb"] != ReasonDisabled {
		t.Errorf("DigitalOcean record = %+v", do)
	}
	if cf := recs[1]; cf.UsageType != "" || cf.ASN != 13335 {
		t.Errorf("Cloudflare record = %+v; AS13335 is not in the data-center set", cf)
	}
	if tor := recs[2]; !tor.IsTor || !slices.Contains(tor.Sources, "tor_exits") {
		t.Errorf("Tor record = %+v", tor)
	}
}

func TestEnrichQuotaMarksTheRest(t *testing.T) {
	var served atomic.Int64
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) > 2 {
			w.Header().Set("Retry-After", "600")
			jsonReply(w, 429, body429)
			return
		}
		jsonReply(w, 200, fmt.Sprintf(cleanBody, r.URL.Query().Get("ipAddress")))
	})
	e := openTestEnricher(t, f, func(c *Config) { c.Concurrency = 1 })
	in := addrs("8.8.8.1", "8.8.8.2", "8.8.8.3", "8.8.8.4", "8.8.8.5", "104.248.73.19")
	recs, err := e.Enrich(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var quota int
	for _, r := range recs {
		if r.NotEnriched["abuseipdb"] == ReasonQuota {
			quota++
		}
	}
	if quota != 4 || f.calls.Load() != 3 {
		t.Errorf("%d records marked quota after %d calls; want 4 after 3 (the 429 stops the rest)", quota, f.calls.Load())
	}
	if last := recs[5]; last.ASN != 14061 || last.UsageType != UsageDataCenter {
		t.Errorf("offline sources must still answer under quota: %+v", last)
	}
}

func TestEnrichInvalidKey(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, checkBody) })
	e := openTestEnricher(t, f, func(c *Config) { c.AbuseIPDB.KeyFile = ""; c.AbuseIPDB.APIKey = "bad-key-value" })
	recs, err := e.Enrich(context.Background(), addrs("8.8.8.8", "104.248.73.19"), nil)
	if !errors.Is(err, ErrInvalidAPIKey) || strings.Contains(err.Error(), "bad-key-value") {
		t.Fatalf("Enrich error = %v, want a redacted ErrInvalidAPIKey", err)
	}
	if len(recs) != 2 || recs[1].ASN != 14061 || recs[1].NotEnriched["abuseipdb"] != ReasonInvalidAPIKey {
		t.Errorf("records = %+v", recs)
	}
}

func TestEnrichTransientRecordsExpireSooner(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	flaky := &stubSource{name: "flaky", err: fmt.Errorf("dial: %w", context.DeadlineExceeded)}
	cache := NewMemoryCache(0, clock.now)
	e := NewEnricher(Options{Sources: []Source{flaky}, Cache: cache, Now: clock.now, TTL: time.Hour, RetryTTL: time.Minute})
	recs, _ := e.Enrich(context.Background(), addrs("8.8.8.8"), nil)
	if recs[0].NotEnriched["flaky"] != ReasonTimeout {
		t.Fatalf("NotEnriched = %v, want flaky: timeout", recs[0].NotEnriched)
	}
	clock.advance(2 * time.Minute)
	e.Enrich(context.Background(), addrs("8.8.8.8"), nil)
	if flaky.calls.Load() != 2 {
		t.Errorf("a timed-out record was reused after its retry TTL: %d calls", flaky.calls.Load())
	}
}

func TestEnrichCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := NewEnricher(Options{Sources: []Source{&stubSource{name: "s", err: ErrNotFound}}})
	if recs, err := e.Enrich(ctx, addrs("8.8.8.8"), nil); !errors.Is(err, context.Canceled) || recs != nil {
		t.Errorf("Enrich(cancelled) = %v, %v", recs, err)
	}
}

type stubSource struct {
	name  string
	rec   Record
	err   error
	calls atomic.Int64
}

func (s *stubSource) Name() string { return s.name }

func (s *stubSource) Lookup(context.Context, netip.Addr) (Record, error) {
	s.calls.Add(1)
	return s.rec, s.err
}

func TestMemoryCacheBound(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	c := NewMemoryCache(3, clock.now)
	ctx := context.Background()
	for i := range 5 {
		c.Put(ctx, Record{IP: netip.AddrFrom4([4]byte{1, 1, 1, byte(i)}), Hostnames: []string{"h"}}, clock.now().Add(time.Hour))
	}
	if c.Len() != 3 {
		t.Errorf("Len() = %d, want 3", c.Len())
	}
	rec, ok, _ := c.Get(ctx, netip.MustParseAddr("1.1.1.4"))
	if !ok {
		t.Fatal("the newest record was evicted")
	}
	rec.Hostnames[0] = "changed"
	again, _, _ := c.Get(ctx, netip.MustParseAddr("1.1.1.4"))
	if again.Hostnames[0] != "h" {
		t.Error("Get returned shared slices")
	}
	clock.advance(time.Hour)
	if _, ok, _ := c.Get(ctx, netip.MustParseAddr("1.1.1.4")); ok {
		t.Error("expired record returned")
	}
}
