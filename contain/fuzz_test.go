package contain_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

var fuzzSeeds = []string{"203.0.113.7", "198.51.100.9/24", "2001:db8::1", "::ffff:192.0.2.1", "::ffff:0.0.0.0/95",
	"fe80::1%eth0", "0.0.0.0/0", "::/0", "1.2.3.4/33", " 10.0.0.1 ", "", "1.2.3", "ffff::/128", "::", "01.2.3.4"}

// FuzzParsePrefix: every input either fails with ErrInvalid or yields a
// canonical value that parses back to itself.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := contain.ParsePrefix(in)
		if err != nil {
			if !errors.Is(err, contain.ErrInvalid) {
				t.Fatalf("ParsePrefix(%q) = %v, not ErrInvalid", in, err)
			}
			return
		}
		v := contain.Value(p)
		q, err := contain.ParsePrefix(v)
		if err != nil || q != p || contain.Value(q) != v {
			t.Fatalf("ParsePrefix(%q) = %s, which re-parses as %s, %v", in, v, q, err)
		}
		if p != p.Masked() || p.Addr().Is4In6() && p.Bits() >= 96 || p.Addr().Zone() != "" {
			t.Fatalf("ParsePrefix(%q) = %s is not canonical", in, p)
		}
	})
}

// FuzzSet drives Set, the store filters and Effective with any input on a
// real SQLite store: invalid input is ErrInvalid, valid input lands under
// its canonical value and is found by Within and Containing.
func FuzzSet(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	c, s, clk := newContainment(f, false, contain.Options{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in string) {
		res, err := c.Set(ctx, contain.SetRequest{IPs: []string{in}, Status: state.IPBlocked, Actor: "fuzz", Reason: "fuzz"})
		if err != nil {
			if !errors.Is(err, contain.ErrInvalid) && !errors.Is(err, contain.ErrTrusted) {
				t.Fatalf("Set(%q) = %v", in, err)
			}
			return
		}
		v, err := contain.CanonicalValue(in)
		if err != nil {
			t.Fatalf("Set(%q) succeeded but CanonicalValue failed: %v", in, err)
		}
		if _, err := s.IP(ctx, v); err != nil {
			t.Fatalf("Set(%q) = %+v but IP(%s) = %v", in, res, v, err)
		}
		for _, f := range []state.IPFilter{{Within: v}, {Containing: v}, {Text: in}} {
			page, err := s.IPs(ctx, f)
			if err != nil {
				t.Fatalf("IPs(%+v) = %v", f, err)
			}
			if f.Text == "" && page.Total == 0 {
				t.Fatalf("IPs(%+v) missed %s", f, v)
			}
		}
		if _, err := c.Effective(ctx, clk.Now()); err != nil {
			t.Fatalf("Effective() after Set(%q) = %v", in, err)
		}
	})
}

// FuzzDecisionsQuery: the bouncer query answers 200 or 400, never 500.
func FuzzDecisionsQuery(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	c, _, _ := newContainment(f, false, contain.Options{})
	ctx := context.Background()
	key, err := c.AddBouncer(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := c.Set(ctx, contain.SetRequest{IPs: []string{"198.51.100.0/24", "2001:db8::/48"}, Status: state.IPBlocked, Actor: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	h := c.DecisionsHandler()
	f.Fuzz(func(t *testing.T, in string) {
		for _, param := range []string{"ip", "range"} {
			req := httptest.NewRequest(http.MethodGet, "/v1/decisions?"+param+"="+url.QueryEscape(in), nil)
			req.Header.Set("X-Api-Key", key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("GET /v1/decisions?%s=%q = %d %s", param, in, rec.Code, rec.Body)
			}
		}
	})
}
