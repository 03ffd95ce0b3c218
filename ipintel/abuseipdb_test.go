package ipintel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "s3cr3t-abuseipdb-key-0123456789"

// checkBody is the documented /check example (docs.abuseipdb.com), with
// verbose reports.
const checkBody = `{
  "data": {
    "ipAddress": "118.25.6.39",
    "isPublic": true,
    "ipVersion": 4,
    "isWhitelisted": false,
    "abuseConfidenceScore": 100,
    "countryCode": "CN",
    "countryName": "China",
    "usageType": "Data Center/Web Hosting/Transit",
    "isp": "Tencent Cloud Computing (Beijing) Co. Ltd",
    "domain": "tencent.com",
    "hostnames": [],
    "isTor": false,
    "totalReports": 1,
    "numDistinctUsers": 1,
    "lastReportedAt": "2018-12-20T20:55:14+00:00",
    "reports": [
      {
        "reportedAt": "2018-12-20T20:55:14+00:00",
        "comment": "Dec 20 20:55:14 srv206 sshd[13937]: Invalid user oracle from 118.25.6.39",
        "categories": [18, 22],
        "reporterId": 1,
        "reporterCountryCode": "US",
        "reporterCountryName": "United States"
      }
    ]
  }
}`

// cleanBody is a never-reported address: nulls where the API sends them.
const cleanBody = `{"data":{"ipAddress":"%s","isPublic":true,"ipVersion":4,"isWhitelisted":null,
"abuseConfidenceScore":0,"countryCode":null,"usageType":null,"isp":"Example ISP","domain":"example.net",
"hostnames":[],"isTor":false,"totalReports":0,"numDistinctUsers":0,"lastReportedAt":null}}`

const blacklistBody = `{
  "meta": {"generatedAt": "2020-09-24T19:54:11+00:00"},
  "data": [
    {"ipAddress": "5.188.10.179", "countryCode": "RU", "abuseConfidenceScore": 100, "lastReportedAt": "2020-09-24T19:17:02+00:00"},
    {"ipAddress": "185.222.209.14", "countryCode": "NL", "abuseConfidenceScore": 100, "lastReportedAt": "2020-09-24T19:17:02+00:00"},
    {"ipAddress": "2001:470:1:c84::17", "countryCode": "US", "abuseConfidenceScore": 100, "lastReportedAt": "2020-09-24T19:17:02+00:00"}
  ]
}`

const (
	body401 = `{"errors":[{"detail":"Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.","status":401}]}`
	body422 = `{"errors":[{"detail":"The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).","status":422,"source":{"parameter":"ipAddress"}}]}`
	body429 = `{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.","status":429}]}`
)

// fakeAbuseIPDB speaks the AbuseIPDB v2 wire format on loopback. respond
// decides each answer; every request is recorded.
type fakeAbuseIPDB struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	calls    atomic.Int64
	respond  func(w http.ResponseWriter, r *http.Request)
}

func newFakeAbuseIPDB(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *fakeAbuseIPDB {
	t.Helper()
	f := &fakeAbuseIPDB{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		f.mu.Unlock()
		if r.Header.Get("Key") != testKey {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, body401)
			return
		}
		f.respond(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAbuseIPDB) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestClient(t *testing.T, f *fakeAbuseIPDB, clock *fakeClock, mod func(*AbuseIPDBOptions)) *AbuseIPDB {
	t.Helper()
	opts := AbuseIPDBOptions{BaseURL: f.URL + "/api/v2", APIKey: testKey, Now: clock.now, RatePerSecond: 1000}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewAbuseIPDB(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonReply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func TestAbuseIPDBCheck(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/check" {
			jsonReply(w, 404, `{"errors":[{"detail":"not found","status":404}]}`)
			return
		}
		w.Header().Set("X-RateLimit-Limit", "1000")
		w.Header().Set("X-RateLimit-Remaining", "999")
		jsonReply(w, 200, checkBody)
	})
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := newTestClient(t, f, clock, func(o *AbuseIPDBOptions) { o.Verbose = true; o.MaxAgeInDays = 30 })

	addr := netip.MustParseAddr("118.25.6.39")
	res, err := c.Check(context.Background(), addr)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	req := f.last()
	if got := req.URL.RawQuery; got != "ipAddress=118.25.6.39&maxAgeInDays=30&verbose" {
		t.Errorf("query = %q", got)
	}
	if got := req.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
	if res.AbuseConfidenceScore != 100 || res.NumDistinctUsers != 1 || res.UsageType != "Data Center/Web Hosting/Transit" ||
		res.LastReportedAt == nil || !res.LastReportedAt.Equal(time.Date(2018, 12, 20, 20, 55, 14, 0, time.UTC)) ||
		res.IsWhitelisted == nil || *res.IsWhitelisted || len(res.Reports) != 1 || res.Reports[0].Categories[1] != 22 {
		t.Errorf("Check = %+v", res)
	}

	rec, err := c.Lookup(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() != 1 {
		t.Errorf("second lookup made %d calls, want the cached answer", f.calls.Load())
	}
	want := Record{ISP: "Tencent Cloud Computing (Beijing) Co. Ltd", Domain: "tencent.com", Country: "CN", CountryName: "China", UsageType: "Data Center/Web Hosting/Transit"}
	if !equalRecords(rec, want) || rec.AbuseConfidence != 100 || rec.TotalReports != 1 || rec.DistinctReporters != 1 || rec.LastReported.IsZero() {
		t.Errorf("Lookup = %+v", rec)
	}

	clock.advance(25 * time.Hour)
	if _, err := c.Check(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() != 2 {
		t.Errorf("after the TTL: %d calls, want 2", f.calls.Load())
	}
}

func TestAbuseIPDBNegativeCacheIsShorter(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, 200, fmt.Sprintf(cleanBody, r.URL.Query().Get("ipAddress")))
	})
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := newTestClient(t, f, clock, func(o *AbuseIPDBOptions) { o.CacheTTL = 24 * time.Hour; o.NegativeTTL = time.Hour })
	addr := netip.MustParseAddr("8.8.4.4")
	res, err := c.Check(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if res.CountryCode != "" || res.LastReportedAt != nil || res.IsWhitelisted != nil {
		t.Errorf("nulls decoded as %+v", res)
	}
	clock.advance(59 * time.Minute)
	c.Check(context.Background(), addr)
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("within the negative TTL: %d calls, want 1", n)
	}
	clock.advance(2 * time.Minute)
	c.Check(context.Background(), addr)
	if n := f.calls.Load(); n != 2 {
		t.Errorf("after the negative TTL: %d calls, want 2", n)
	}
}

func TestAbuseIPDBErrors(t *testing.T) {
	t.Run("401 invalid key", func(t *testing.T) {
		f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, checkBody) })
		clock := &fakeClock{t: time.Now()}
		c := newTestClient(t, f, clock, func(o *AbuseIPDBOptions) { o.APIKey = Secret("wrong-key-" + testKey[:6]) })
		_, err := c.Check(context.Background(), netip.MustParseAddr("1.1.1.1"))
		if !errors.Is(err, ErrInvalidAPIKey) {
			t.Fatalf("Check error = %v, want ErrInvalidAPIKey", err)
		}
		if !strings.Contains(err.Error(), "invalid API key") || !strings.Contains(err.Error(), "Authentication failed") {
			t.Errorf("error %q does not say what went wrong", err)
		}
		if strings.Contains(err.Error(), "wrong-key") {
			t.Errorf("error %q leaks the key", err)
		}
		_, err = c.Check(context.Background(), netip.MustParseAddr("1.0.0.1"))
		if !errors.Is(err, ErrInvalidAPIKey) || f.calls.Load() != 1 {
			t.Errorf("after a 401: error %v, %d calls; want ErrInvalidAPIKey without a new call", err, f.calls.Load())
		}
	})
	t.Run("422 per address", func(t *testing.T) {
		f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("ipAddress") == "9.9.9.9" {
				jsonReply(w, 422, body422)
				return
			}
			jsonReply(w, 200, checkBody)
		})
		clock := &fakeClock{t: time.Now()}
		c := newTestClient(t, f, clock, nil)
		_, err := c.Check(context.Background(), netip.MustParseAddr("9.9.9.9"))
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "9.9.9.9") ||
			!strings.Contains(err.Error(), "must be a valid IPv4 or IPv6 address") || !strings.Contains(err.Error(), "parameter ipAddress") {
			t.Fatalf("Check error = %v, want a clear ErrRejected", err)
		}
		if _, err := c.Check(context.Background(), netip.MustParseAddr("118.25.6.39")); err != nil {
			t.Errorf("a 422 for one address failed another: %v", err)
		}
		c.Check(context.Background(), netip.MustParseAddr("9.9.9.9"))
		if n := f.calls.Load(); n != 2 {
			t.Errorf("rejected address asked again: %d calls, want 2", n)
		}
	})
	t.Run("500", func(t *testing.T) {
		f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			fmt.Fprint(w, "<html>Service Unavailable</html>")
		})
		c := newTestClient(t, f, &fakeClock{t: time.Now()}, nil)
		_, err := c.Check(context.Background(), netip.MustParseAddr("1.1.1.1"))
		if err == nil || !strings.Contains(err.Error(), "HTTP 503") || errors.Is(err, ErrQuota) {
			t.Errorf("Check error = %v, want HTTP 503", err)
		}
	})
}

func TestAbuseIPDB429PausesEveryCall(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var limited atomic.Bool
	limited.Store(true)
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		if limited.Load() {
			w.Header().Set("Retry-After", "3600")
			w.Header().Set("X-RateLimit-Limit", "1000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", fmt.Sprint(clock.now().Add(time.Hour).Unix()))
			jsonReply(w, 429, body429)
			return
		}
		jsonReply(w, 200, checkBody)
	})
	c := newTestClient(t, f, clock, nil)
	_, err := c.Check(context.Background(), netip.MustParseAddr("1.1.1.1"))
	if !errors.Is(err, ErrQuota) || !strings.Contains(err.Error(), "Daily rate limit of 1000") {
		t.Fatalf("Check error = %v, want ErrQuota with the server's detail", err)
	}
	if got, want := c.PausedUntil(), clock.now().Add(time.Hour); !got.Equal(want) {
		t.Errorf("PausedUntil() = %v, want %v", got, want)
	}
	for _, ip := range []string{"1.0.0.1", "8.8.8.8", "9.9.9.9"} {
		if _, err := c.Check(context.Background(), netip.MustParseAddr(ip)); !errors.Is(err, ErrQuota) {
			t.Errorf("Check(%s) while paused = %v, want ErrQuota", ip, err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls while paused, want only the one that got the 429", n)
	}
	limited.Store(false)
	clock.advance(time.Hour + time.Second)
	if _, err := c.Check(context.Background(), netip.MustParseAddr("8.8.8.8")); err != nil {
		t.Errorf("Check after the reset: %v", err)
	}
}

func TestAbuseIPDBResetTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &AbuseIPDB{now: func() time.Time { return now }}
	tests := []struct {
		name   string
		header http.Header
		want   time.Time
	}{
		{"retry-after seconds", http.Header{"Retry-After": {"120"}}, now.Add(2 * time.Minute)},
		{"retry-after date", http.Header{"Retry-After": {"Sun, 01 Mar 2026 13:30:00 GMT"}}, now.Add(90 * time.Minute)},
		{"reset epoch", http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Add(5 * time.Hour).Unix())}}, now.Add(5 * time.Hour)},
		{"reset in the past", http.Header{"X-Ratelimit-Reset": {"1000"}}, now.Add(time.Hour)},
		{"nothing", http.Header{}, now.Add(time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.resetTime(tc.header); !got.Equal(tc.want) {
				t.Errorf("resetTime(%v) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

func TestAbuseIPDBDailyQuota(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, 200, fmt.Sprintf(cleanBody, r.URL.Query().Get("ipAddress")))
	})
	clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	c := newTestClient(t, f, clock, func(o *AbuseIPDBOptions) { o.DailyCheckQuota = 3 })
	var quota int
	for i := range 5 {
		_, err := c.Check(context.Background(), netip.AddrFrom4([4]byte{8, 8, 8, byte(i)}))
		if errors.Is(err, ErrQuota) {
			quota++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if quota != 2 || f.calls.Load() != 3 {
		t.Errorf("5 checks on a quota of 3: %d refused, %d sent; want 2 and 3", quota, f.calls.Load())
	}
	clock.advance(8 * time.Hour) // a third of a day earns one check back
	if _, err := c.Check(context.Background(), netip.MustParseAddr("8.8.8.100")); err != nil {
		t.Errorf("after refill: %v", err)
	}
}

func TestAbuseIPDBServerRemainingLowersQuota(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		jsonReply(w, 200, fmt.Sprintf(cleanBody, r.URL.Query().Get("ipAddress")))
	})
	c := newTestClient(t, f, &fakeClock{t: time.Now()}, nil)
	if _, err := c.Check(context.Background(), netip.MustParseAddr("8.8.8.8")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background(), netip.MustParseAddr("8.8.4.4")); !errors.Is(err, ErrQuota) {
		t.Errorf("after X-RateLimit-Remaining: 0, Check = %v, want ErrQuota", err)
	}
}

func TestAbuseIPDBBlacklist(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/blacklist" {
			jsonReply(w, 200, fmt.Sprintf(cleanBody, r.URL.Query().Get("ipAddress")))
			return
		}
		if _, plain := r.URL.Query()["plaintext"]; plain {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "5.188.10.179\n185.222.209.14\n2001:470:1:c84::17\n")
			return
		}
		jsonReply(w, 200, blacklistBody)
	})
	clock := &fakeClock{t: time.Date(2020, 9, 24, 20, 0, 0, 0, time.UTC)}
	c := newTestClient(t, f, clock, nil)

	bl, err := c.FetchBlacklist(context.Background(), BlacklistQuery{ConfidenceMinimum: 90, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.last().URL.RawQuery; got != "confidenceMinimum=90&limit=500" {
		t.Errorf("query = %q", got)
	}
	e, ok := bl.Lookup(netip.MustParseAddr("185.222.209.14"))
	if bl.Len() != 3 || !ok || e.CountryCode != "NL" || e.AbuseConfidence != 100 || e.LastReported.IsZero() ||
		!bl.GeneratedAt.Equal(time.Date(2020, 9, 24, 19, 54, 11, 0, time.UTC)) {
		t.Errorf("blacklist = %d entries, 185.222.209.14 = %+v %v, generated %v", bl.Len(), e, ok, bl.GeneratedAt)
	}
	if _, ok := bl.Lookup(netip.MustParseAddr("::ffff:5.188.10.179")); !ok {
		t.Error("IPv4-mapped form of a listed address not found")
	}

	plain, err := c.FetchBlacklist(context.Background(), BlacklistQuery{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.last().URL.RawQuery; got != "confidenceMinimum=100&limit=10000&plaintext" {
		t.Errorf("plaintext query = %q", got)
	}
	if _, ok := plain.Lookup(netip.MustParseAddr("2001:470:1:c84::17")); plain.Len() != 3 || !ok {
		t.Errorf("plaintext blacklist = %d entries", plain.Len())
	}

	// Blacklist hits answer without /check when checks are off.
	c2 := newTestClient(t, f, clock, func(o *AbuseIPDBOptions) { o.DisableCheck = true })
	c2.SetBlacklist(bl)
	before := f.calls.Load()
	rec, err := c2.Lookup(context.Background(), netip.MustParseAddr("5.188.10.179"))
	if err != nil || rec.AbuseConfidence != 100 || rec.Country != "RU" || rec.Sources[0] != "abuseipdb_blacklist" {
		t.Errorf("Lookup(listed) = %+v, %v", rec, err)
	}
	if _, err := c2.Lookup(context.Background(), netip.MustParseAddr("8.8.8.8")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(unlisted) = %v, want ErrNotFound", err)
	}
	if f.calls.Load() != before {
		t.Error("blacklist-only lookups called the API")
	}
}

func TestAbuseIPDBRefreshBlacklist(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, blacklistBody) })
	clock := &fakeClock{t: time.Date(2020, 9, 24, 20, 0, 0, 0, time.UTC)}
	c := newTestClient(t, f, clock, nil)
	path := filepath.Join(t.TempDir(), "blacklist.json")

	bl, err := c.RefreshBlacklist(context.Background(), path, 6*time.Hour, BlacklistQuery{})
	if err != nil || bl.Len() != 3 {
		t.Fatalf("first refresh: %v, %d entries", err, bl.Len())
	}
	bl, err = c.RefreshBlacklist(context.Background(), path, 6*time.Hour, BlacklistQuery{})
	if err != nil || bl.Len() != 3 || f.calls.Load() != 1 {
		t.Errorf("fresh file: %v, %d entries, %d calls; want the stored list", err, bl.Len(), f.calls.Load())
	}
	e, _ := bl.Lookup(netip.MustParseAddr("5.188.10.179"))
	if e.CountryCode != "RU" || e.LastReported.IsZero() {
		t.Errorf("stored entry lost fields: %+v", e)
	}
	clock.advance(7 * time.Hour)
	f.respond = func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 429, body429) }
	bl, err = c.RefreshBlacklist(context.Background(), path, 6*time.Hour, BlacklistQuery{})
	if !errors.Is(err, ErrQuota) || bl == nil || bl.Len() != 3 {
		t.Errorf("stale file and a 429: %v, %v; want the stale list and ErrQuota", bl, err)
	}
}

func TestAbuseIPDBNeverSendsPrivateAddresses(t *testing.T) {
	f := newFakeAbuseIPDB(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, checkBody) })
	c := newTestClient(t, f, &fakeClock{t: time.Now()}, nil)
	for _, ip := range []string{"10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "fd00::1", "100.64.0.1", "192.0.2.5"} {
		if _, err := c.Lookup(context.Background(), netip.MustParseAddr(ip)); !errors.Is(err, ErrNotPublic) {
			t.Errorf("Lookup(%s) = %v, want ErrNotPublic", ip, err)
		}
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d calls for private addresses", f.calls.Load())
	}
}

func TestLoadAPIKeyAndSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	writeFile(t, path, testKey+"\n")
	k, err := LoadAPIKey("", path)
	if err != nil || string(k) != testKey {
		t.Fatalf("LoadAPIKey(file) = %q, %v", k, err)
	}
	if s := fmt.Sprintf("%v %s %+v %#v", k, k, struct{ K Secret }{k}, k); strings.Contains(s, testKey) {
		t.Errorf("formatted secret leaks the key: %s", s)
	}
	if k, _ := LoadAPIKey("direct", path); string(k) != "direct" {
		t.Errorf("a value set directly should win over the file, got %q", k)
	}
	writeFile(t, path, "\n")
	if _, err := LoadAPIKey("", path); err == nil {
		t.Error("empty key file accepted")
	}
}
