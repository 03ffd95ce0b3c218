package contain_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

func lapiGet(t *testing.T, srv *httptest.Server, key, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDecisionsAPI(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newContainment(t, false, contain.Options{})
	srv := httptest.NewServer(c.DecisionsHandler())
	defer srv.Close()
	key, err := c.AddBouncer(ctx, "nginx-edge")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddBouncer(ctx, "nginx-edge"); err == nil {
		t.Error("AddBouncer(duplicate name) succeeded")
	}
	bs, _ := s.Bouncers(ctx)
	if len(bs) != 1 || bs[0].KeyHash == key || bs[0].KeyHash != contain.HashBouncerKey(key) {
		t.Fatalf("stored bouncer = %+v; want the key's hash, never the key", bs)
	}

	mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19"}, Status: state.IPBlocked, Duration: 24 * time.Hour, Reason: "exfiltration"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"198.51.100.0/24"}, Status: state.IPBlocked, Reason: ""})
	clk.Advance(48 * time.Second)

	code, body := lapiGet(t, srv, key, "/v1/decisions/stream?startup=true")
	var stream struct {
		New, Deleted []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &stream); code != 200 || err != nil {
		t.Fatalf("stream startup = %d %s", code, body)
	}
	want := `{"new":[{"id":1,"origin":"tracehound","type":"ban","scope":"Ip","value":"104.248.73.19","duration":"23h59m12s","scenario":"exfiltration","simulated":false},` +
		`{"id":2,"origin":"tracehound","type":"ban","scope":"Range","value":"198.51.100.0/24","duration":"87600h0m0s","scenario":"tracehound/manual-block","simulated":false}],"deleted":[]}` + "\n"
	if body != want {
		t.Errorf("stream startup =\n%s\nwant\n%s", body, want)
	}

	// Later pulls carry only what changed since.
	clk.Advance(10 * time.Second)
	if _, body := lapiGet(t, srv, key, "/v1/decisions/stream"); body != `{"new":[],"deleted":[]}`+"\n" {
		t.Errorf("stream with no change = %s", body)
	}
	clk.Advance(10 * time.Second)
	mustSet(t, c, contain.SetRequest{IPs: []string{"2001:db8::7"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "v6"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19"}, Status: state.IPMonitoring, Reason: "fp"})
	clk.Advance(10 * time.Second)
	_, body = lapiGet(t, srv, key, "/v1/decisions/stream?startup=false")
	if !strings.Contains(body, `"new":[{"id":3,"origin":"tracehound","type":"ban","scope":"Ip","value":"2001:db8::7","duration":"59m50s","scenario":"v6"`) ||
		!strings.Contains(body, `"deleted":[{"id":1,`) || strings.Contains(body, "198.51.100.0/24") {
		t.Errorf("stream delta = %s; want 2001:db8::7 new and 104.248.73.19 deleted only", body)
	}
	bs, _ = s.Bouncers(ctx)
	if !bs[0].LastPull.Equal(clk.Now()) {
		t.Errorf("bouncer last pull = %v, want %v", bs[0].LastPull, clk.Now())
	}

	// Filters.
	if _, body := lapiGet(t, srv, key, "/v1/decisions/stream?startup=true&scopes=range"); strings.Contains(body, `"Ip"`) || !strings.Contains(body, "198.51.100.0/24") {
		t.Errorf("stream scopes=range = %s", body)
	}
	if _, body := lapiGet(t, srv, key, "/v1/decisions/stream?startup=true&origins=crowdsec,cscli"); body != `{"new":[],"deleted":[]}`+"\n" {
		t.Errorf("stream origins=crowdsec = %s; want nothing", body)
	}

	// Live queries.
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/v1/decisions?ip=198.51.100.77", 200, `"value":"198.51.100.0/24"`},
		{"/v1/decisions?ip=::ffff:198.51.100.77", 200, `"value":"198.51.100.0/24"`},
		{"/v1/decisions?ip=2001:db8::7", 200, `"value":"2001:db8::7"`},
		{"/v1/decisions?ip=104.248.73.19", 200, "null\n"},
		{"/v1/decisions?range=198.51.100.0/25", 200, `"scope":"Range"`},
		{"/v1/decisions?ip=198.51.100.0/25", 400, "use range="},
		{"/v1/decisions?ip=not-an-ip", 400, `"message"`},
		{"/v1/decisions", 200, `"value":"2001:db8::7"`},
	}
	for _, tc := range tests {
		code, body := lapiGet(t, srv, key, tc.path)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d %s; want %d containing %q", tc.path, code, body, tc.code, tc.want)
		}
	}

	// Keys grant the decisions routes only, and stop working once deleted.
	for _, k := range []string{"", "wrong"} {
		if code, body := lapiGet(t, srv, k, "/v1/decisions/stream"); code != 403 || !strings.Contains(body, "access forbidden") {
			t.Errorf("stream with key %q = %d %s; want 403", k, code, body)
		}
	}
	if code, _ := lapiGet(t, srv, key, "/api/v1/ips"); code != 404 {
		t.Errorf("bouncer key on /api/v1/ips = %d; want 404 from this handler", code)
	}
	if err := c.DeleteBouncer(ctx, "nginx-edge"); err != nil {
		t.Fatal(err)
	}
	if code, _ := lapiGet(t, srv, key, "/v1/decisions"); code != 403 {
		t.Errorf("deleted bouncer's key = %d, want 403", code)
	}
}
