package alert

import (
	"fmt"
	"testing"
	"time"
)

var fmtSprintf = fmt.Sprintf

func row(ip string, n int64) Row {
	return Row{Labels: map[string]string{"peer_ip": ip}, Values: map[string]any{"n": n}, Columns: map[string]any{"peer_ip": ip, "n": n}}
}

func TestMachineStates(t *testing.T) {
	r := Rule{ID: "m", Severity: SeverityLow, SQL: "SELECT 1 FROM traces", For: 2 * time.Minute, KeepFiringFor: 3 * time.Minute}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	m := newMachine(&r)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	// match at 0..4, gone from 5: pending 0-1, firing 2-7 (kept 3m after 5), resolved at 8.
	steps := []struct {
		min   int
		rows  []Row
		state State // of the instance after the step, "" when gone
	}{
		{0, []Row{row("a", 1)}, StatePending},
		{1, []Row{row("a", 2)}, StatePending},
		{2, []Row{row("a", 3)}, StateFiring},
		{4, []Row{row("a", 3)}, StateFiring},
		{5, nil, StateFiring},
		{7, nil, StateFiring},
		{8, nil, StateResolved},
		{22, nil, StateResolved},
		{23, nil, ""},
	}
	for _, s := range steps {
		alerts, err := m.step(at(s.min), s.rows)
		if err != nil {
			t.Fatal(err)
		}
		m.markSent(alerts)
		var got State
		for _, in := range m.instances {
			got = in.State
		}
		if got != s.state {
			t.Errorf("after step at %dm: state %q, want %q", s.min, got, s.state)
		}
	}
	// A pending instance that stops matching is dropped silently.
	m = newMachine(&r)
	m.step(at(0), []Row{row("b", 1)})
	if alerts, _ := m.step(at(1), nil); len(alerts) != 0 || len(m.instances) != 0 {
		t.Errorf("pending that stopped matching: alerts %v, instances %v; want none", alerts, m.instances)
	}
	// Duplicate identities are an error.
	if _, err := m.step(at(2), []Row{row("c", 1), row("c", 2)}); err == nil {
		t.Error("step with two rows of one identity = nil error, want one")
	}
}

func TestMachineResendsResolvedUntilDelivered(t *testing.T) {
	r := Rule{ID: "m", Severity: SeverityLow, SQL: "SELECT 1 FROM traces"}
	r.Validate()
	m := newMachine(&r)
	m.step(t0, []Row{row("a", 1)})
	first, _ := m.step(t0.Add(time.Minute), nil)
	if len(first) != 1 || first[0].State != StateResolved {
		t.Fatalf("step after the row went = %+v, want one resolved alert", first)
	}
	// Not marked sent (the sink failed): delivered again.
	again, _ := m.step(t0.Add(2*time.Minute), nil)
	if len(again) != 1 || again[0].State != StateResolved || !again[0].EndsAt.Equal(first[0].EndsAt) {
		t.Fatalf("next step = %+v, want the same resolution again", again)
	}
	m.markSent(again)
	if after, _ := m.step(t0.Add(3*time.Minute), nil); len(after) != 0 {
		t.Errorf("after a delivered resolution: %+v, want nothing", after)
	}
	// Matching again after resolving starts a new instance.
	re, _ := m.step(t0.Add(4*time.Minute), []Row{row("a", 1)})
	if len(re) != 1 || !re[0].StartsAt.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("re-match = %+v, want a new firing that starts now", re)
	}
}

func TestSaveRestoreRoundTrip(t *testing.T) {
	r := Rule{ID: "m", Severity: SeverityLow, SQL: "SELECT 1 FROM traces", For: time.Hour}
	r.Validate()
	m := newMachine(&r)
	m.step(t0, []Row{row("a", 1), row("b", 2)})
	st, err := m.save(t0)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newMachine(&r)
	if err := m2.restore(st); err != nil {
		t.Fatal(err)
	}
	for fp, in := range m.instances {
		in2 := m2.instances[fp]
		if in2 == nil || in2.State != in.State || !in2.ActiveAt.Equal(in.ActiveAt) || in2.Labels["peer_ip"] != in.Labels["peer_ip"] {
			t.Errorf("restored %s = %+v, want %+v", fp, in2, in)
		}
	}
}
