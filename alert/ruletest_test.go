package alert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunTestsExamples(t *testing.T) {
	rep, err := RunTests(context.Background(), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Passed < 15 {
		t.Errorf("RunTests(testdata) = %d passed, %d failed; want all of at least 15 to pass:\n%s", rep.Passed, rep.Failed, rep)
	}
}

func TestRunTestsReportsDiff(t *testing.T) {
	dir := t.TempDir()
	rules := "rules:\n  - id: any_admin\n    severity: low\n    sql: SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip\n"
	test := `rule_files: [r.yaml]
spans:
  - {offset: 1m, path: /x, peer_ip: 192.0.2.1}
tests:
  - name: wrong ip
    rule: any_admin
    eval_time: 2m
    exp_alerts:
      - labels: {peer_ip: 192.0.2.9}
`
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(rules), 0o644)
	os.WriteFile(filepath.Join(dir, "r_test.yaml"), []byte(test), 0o644)
	rep, err := RunTests(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Failed != 1 {
		t.Fatalf("RunTests() = %+v, want one failure", rep)
	}
	out := rep.String()
	for _, want := range []string{`- firing {peer_ip="192.0.2.9"}`, `+ firing {alertname="any_admin", peer_ip="192.0.2.1", severity="low"}`, "0 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
