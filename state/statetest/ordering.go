package statetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// byteOrder is a set of keys whose byte order differs from the order of
// a linguistic collation (which puts "a" before "B" and may weigh
// punctuation differently): lists ordered by a text key must come back in
// byte order, as SQLite returns them, whatever the server's collation.
var byteOrder = []string{"B", "Z", "a", "a-b", "ab", "é"}

// shuffled is byteOrder in an order that is neither it nor its reverse.
var shuffled = []string{"ab", "é", "B", "a-b", "Z", "a"}

// runOrdering checks that every list ordered by a text key orders by
// bytes.
func runOrdering(t *testing.T, newStore Factory) {
	t.Run("ByteOrder", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		snap := state.MapSnapshot{TakenAt: base, Window: time.Hour}
		for i, k := range shuffled {
			at := base.Add(time.Duration(i) * time.Second)
			steps := []struct {
				what string
				err  error
			}{
				{"PutRuleDef", s.PutRuleDef(ctx, state.RuleDef{ID: k, Body: []byte("id: x\n"), UpdatedAt: at})},
				{"SaveRuleState", s.SaveRuleState(ctx, state.RuleState{RuleID: k, LastEval: at})},
				{"CreateUser", s.CreateUser(ctx, state.User{Name: k, PasswordHash: "h", Role: "viewer", CreatedAt: at, UpdatedAt: at})},
				{"PutAPISpec", s.PutAPISpec(ctx, state.APISpec{Service: k, Name: k, Raw: []byte("{}"), RegisteredAt: at})},
				// Tokens created at one time are ordered by id.
				{"CreateToken", s.CreateToken(ctx, state.Token{ID: k, Name: k, Hash: "hash-" + k, Role: "viewer", CreatedAt: base})},
			}
			for _, st := range steps {
				if st.err != nil {
					t.Fatalf("%s(%q) = %v", st.what, k, st.err)
				}
			}
			if _, err := s.AddBouncer(ctx, state.Bouncer{Name: k, KeyHash: "key-" + k, CreatedAt: at}); err != nil {
				t.Fatalf("AddBouncer(%q) = %v", k, err)
			}
			snap.Endpoints = append(snap.Endpoints, state.SnapshotEndpoint{EndpointID: k, Service: "api", Method: "GET", Template: "/" + k,
				Hits: 1, FirstSeen: at, LastSeen: at, Data: []byte("{}")})
		}
		instances := make([]state.RuleInstance, len(shuffled))
		for i, k := range shuffled {
			instances[i] = state.RuleInstance{Fingerprint: k, State: "pending", ActiveAt: base, Data: []byte("{}")}
		}
		if err := s.SaveRuleState(ctx, state.RuleState{RuleID: "fingerprints", LastEval: base, Instances: instances}); err != nil {
			t.Fatalf("SaveRuleState(fingerprints) = %v", err)
		}
		if _, err := s.AddMapSnapshot(ctx, snap, nil); err != nil {
			t.Fatalf("AddMapSnapshot = %v", err)
		}

		check := func(what string, got []string, err error) {
			t.Helper()
			if err != nil {
				t.Errorf("%s = %v", what, err)
				return
			}
			if !slices.Equal(got, byteOrder) {
				t.Errorf("%s = %q, want byte order %q", what, got, byteOrder)
			}
		}
		defs, err := s.RuleDefs(ctx)
		check("RuleDefs", keys(defs, func(d state.RuleDef) string { return d.ID }), err)
		sts, err := s.RuleStates(ctx)
		check("RuleStates", keys(slices.DeleteFunc(sts, func(st state.RuleState) bool { return st.RuleID == "fingerprints" }),
			func(st state.RuleState) string { return st.RuleID }), err)
		st, err := s.RuleState(ctx, "fingerprints")
		check("RuleState instances", keys(st.Instances, func(in state.RuleInstance) string { return in.Fingerprint }), err)
		users, err := s.Users(ctx)
		check("Users", keys(users, func(u state.User) string { return u.Name }), err)
		specs, err := s.APISpecs(ctx)
		check("APISpecs", keys(specs, func(sp state.APISpec) string { return sp.Service }), err)
		toks, err := s.Tokens(ctx)
		check("Tokens (same creation time)", keys(toks, func(tk state.Token) string { return tk.ID }), err)
		bs, err := s.Bouncers(ctx)
		check("Bouncers", keys(bs, func(b state.Bouncer) string { return b.Name }), err)
		latest, err := s.MapSnapshot(ctx, 0)
		check("MapSnapshot endpoints", keys(latest.Endpoints, func(e state.SnapshotEndpoint) string { return e.EndpointID }), err)
		known, err := s.KnownEndpoints(ctx, state.KnownEndpointFilter{})
		check("KnownEndpoints", keys(known, func(k state.KnownEndpoint) string { return k.EndpointID }), err)
	})
	t.Run("IPSortBySource", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		var items []state.IPChangeItem
		for i, src := range shuffled {
			items = append(items, state.IPChangeItem{Value: "192.0.2." + string(rune('1'+i)),
				After: &state.IPState{Status: state.IPMonitoring, Source: src}})
		}
		if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: "a", Action: state.IPActionSet, Items: items}); err != nil {
			t.Fatal(err)
		}
		page, err := s.IPs(ctx, state.IPFilter{Sort: state.IPSortSource})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(page.Records, func(r state.IPRecord) string { return r.Source }); !slices.Equal(got, byteOrder) {
			t.Errorf("IPs(sort source) sources = %q, want byte order %q", got, byteOrder)
		}
	})
}

func keys[T any](s []T, key func(T) string) []string {
	out := []string{}
	for _, v := range s {
		out = append(out, key(v))
	}
	return out
}

// runEdgeCases checks what a second implementation is likely to get
// wrong: zero times, time zones, opaque bytes kept byte for byte, and
// LIKE wildcards in a prefix.
func runEdgeCases(t *testing.T, newStore Factory) {
	t.Run("ZeroTimes", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		if err := s.CreateUser(ctx, state.User{Name: "z", PasswordHash: "h", Role: "viewer"}); err != nil {
			t.Fatalf("CreateUser(zero times) = %v", err)
		}
		if u, err := s.User(ctx, "z"); err != nil || !u.CreatedAt.IsZero() || !u.UpdatedAt.IsZero() {
			t.Errorf("User(z) = %+v, %v; want zero times back", u, err)
		}
		// A zero time is earlier than any other: an expiry left zero has
		// expired.
		if err := s.CreateSession(ctx, state.Session{Hash: "s", User: "z", CSRF: "c"}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredSessions(ctx, base); err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions with a zero expiry = %d, %v; want 1", n, err)
		}
		res, err := s.RecordAlert(ctx, state.AlertRecord{Fingerprint: "f", RuleID: "r", Severity: "low", Mode: "active", State: "firing", At: base},
			state.IncidentLink{})
		if err != nil || !res.Notification.StartsAt.IsZero() || !res.Notification.AlertEndsAt.IsZero() || !res.Notification.FirstSeen.Equal(base) {
			t.Errorf("RecordAlert(zero StartsAt) = %+v, %v; want zero StartsAt and AlertEndsAt back", res, err)
		}
	})
	t.Run("TimeZones", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		tz := time.FixedZone("UTC+5:30", 5*3600+1800)
		at := base.In(tz)
		if err := s.PutRuleDef(ctx, state.RuleDef{ID: "r", Body: []byte("x"), UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
		d, err := s.RuleDef(ctx, "r")
		if err != nil || !d.UpdatedAt.Equal(base) || d.UpdatedAt.Location() != time.UTC {
			t.Errorf("RuleDef(r).UpdatedAt = %v, %v; want %v in UTC", d.UpdatedAt, err, base)
		}
		// Comparisons go by instant, not by the zone's wall clock.
		if _, err := s.AddAudit(ctx, state.AuditEntry{At: at, Actor: "a", Action: "x.y", Target: "t"}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Audit(ctx, state.AuditFilter{Since: base.Add(-time.Nanosecond), Until: base.Add(time.Nanosecond)}); err != nil || len(got) != 1 {
			t.Errorf("Audit(within a nanosecond of the entry) = %d entries, %v; want 1", len(got), err)
		}
		if got, err := s.Audit(ctx, state.AuditFilter{Since: base.Add(time.Nanosecond)}); err != nil || len(got) != 0 {
			t.Errorf("Audit(a nanosecond after the entry) = %d entries, %v; want 0", len(got), err)
		}
	})
	t.Run("OpaqueBytes", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		// JSON as the producer wrote it: spacing and key order are kept.
		raw := []byte(`{"b": 1,  "a":[2, 3]}`)
		if _, err := s.AddMapSnapshot(ctx, state.MapSnapshot{TakenAt: base, Endpoints: []state.SnapshotEndpoint{{EndpointID: "e", Data: raw}}},
			[]state.Event{{Kind: "k", CreatedAt: base, Payload: raw}}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.MapSnapshot(ctx, 0)
		if err != nil || len(snap.Endpoints) != 1 || !bytes.Equal(snap.Endpoints[0].Data, raw) {
			t.Errorf("MapSnapshot endpoint data = %+v, %v; want %s byte for byte", snap.Endpoints, err, raw)
		}
		evs, err := s.Events(ctx, state.EventFilter{})
		if err != nil || len(evs) != 1 || !bytes.Equal(evs[0].Payload, raw) {
			t.Errorf("Events payload = %+v, %v; want %s byte for byte", evs, err, raw)
		}
		if err := s.SaveRuleState(ctx, state.RuleState{RuleID: "r", Instances: []state.RuleInstance{{Fingerprint: "f", State: "firing", Data: raw}}}); err != nil {
			t.Fatal(err)
		}
		if st, err := s.RuleState(ctx, "r"); err != nil || len(st.Instances) != 1 || !bytes.Equal(st.Instances[0].Data, raw) {
			t.Errorf("RuleState instance data = %+v, %v; want %s byte for byte", st, err, raw)
		}
		if _, err := s.AddAudit(ctx, state.AuditEntry{At: base, Actor: "a", Action: "x.y", Target: "t", Before: raw}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Audit(ctx, state.AuditFilter{}); err != nil || len(got) != 1 || !bytes.Equal(got[0].Before, raw) || got[0].After != nil {
			t.Errorf("Audit before/after = %+v, %v; want %s and nil", got, err, raw)
		}
		if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: "a", Action: state.IPActionSet,
			Items: []state.IPChangeItem{{Value: "192.0.2.1", After: &state.IPState{Status: state.IPMonitoring, Tags: []string{"b", "", "a", "b"}}}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetIPEnrichment(ctx, "192.0.2.1", raw, base); err != nil {
			t.Fatal(err)
		}
		r, err := s.IP(ctx, "192.0.2.1")
		if err != nil || !bytes.Equal(r.Enrichment, raw) || !slices.Equal(r.Tags, []string{"a", "b"}) {
			t.Errorf("IP enrichment and tags = %s %q, %v; want %s byte for byte and tags sorted, unique", r.Enrichment, r.Tags, err, raw)
		}
	})
	t.Run("AuditPrefixIsLiteral", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		for _, action := range []string{"ip_x.block", "ipax.block", "ip%.block"} {
			if _, err := s.AddAudit(ctx, state.AuditEntry{At: base, Actor: "a", Action: action, Target: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, prefix := range []string{"ip_x.", "ip%."} {
			got, err := s.Audit(ctx, state.AuditFilter{Action: prefix})
			if err != nil || len(got) != 1 || got[0].Action != prefix+"block" {
				t.Errorf("Audit(action %q) = %+v, %v; want only %sblock", prefix, got, err, prefix)
			}
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		checks := []struct {
			what string
			err  error
			want error
		}{
			{"SetBouncerPull(missing)", s.SetBouncerPull(ctx, 42, base), state.ErrNotFound},
			{"DeleteToken(missing)", s.DeleteToken(ctx, "nope"), state.ErrNotFound},
		}
		for _, c := range checks {
			if !errors.Is(c.err, c.want) {
				t.Errorf("%s = %v, want %v", c.what, c.err, c.want)
			}
		}
	})
}
