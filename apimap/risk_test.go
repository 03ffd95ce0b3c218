package apimap

import (
	"slices"
	"testing"
)

func TestRisk(t *testing.T) {
	tagged := func(e Endpoint, tags ...Tag) Endpoint {
		e.Evidence = map[Tag][]string{}
		for _, tag := range tags {
			e.Evidence[tag] = []string{"test"}
			switch tag {
			case SensitivityCredentials, SensitivityPII, SensitivityBulk:
				e.Sensitivity = append(e.Sensitivity, tag)
			default:
				e.Tags = append(e.Tags, tag)
			}
		}
		return e
	}
	tests := []struct {
		name    string
		e       Endpoint
		want    int
		factors []string
	}{
		{"plain documented read", tagged(Endpoint{Hits: 100, Auth: Auth{State: AuthEnforced}}, TagCRUDRead), 0, []string{}},
		{"public health check", tagged(Endpoint{Hits: 100, Auth: Auth{State: AuthPublic}}, TagHealth, TagCRUDRead), 5, []string{"public"}},
		{"public login", tagged(Endpoint{Hits: 100, Auth: Auth{State: AuthPublic}}, TagAuth, SensitivityCredentials), 25,
			[]string{"sensitive_credentials", "public"}},
		{"shadow admin export", tagged(Endpoint{Hits: 14603, Shadow: true, New: true, Auth: Auth{State: AuthEnforced},
			Bytes: Bytes{AvgResponse: 187_000}}, TagAdmin, TagExport, SensitivityBulk), 100,
			[]string{"shadow", "admin", "export", "sensitive_bulk", "new", "large_responses"}},
		{"mixed auth, failing, many callers", tagged(Endpoint{Hits: 100, Auth: Auth{State: AuthMixed}, Status: StatusMix{Class5xx: 5},
			Callers: Callers{IPs: 100}}, TagSearch), 25, []string{"mixed_auth", "many_callers", "server_errors"}},
		{"deprecated with drift", tagged(Endpoint{Hits: 3, ZombieKind: ZombieDeprecatedLive, Drift: []DriftItem{{Kind: DriftStatus}},
			Status: StatusMix{Class5xx: 0}}, TagCRUDRead), 20, []string{"deprecated_live", "drift"}},
		{"unused zombie", tagged(Endpoint{Zombie: true, ZombieKind: ZombieUnused}, TagCRUDRead), 0, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, factors := Risk(&tc.e)
			names := []string{}
			for _, f := range factors {
				names = append(names, f.Factor)
			}
			if got != tc.want || !slices.Equal(names, tc.factors) {
				t.Errorf("Risk(%s) = %d %v, want %d %v", tc.name, got, names, tc.want, tc.factors)
			}
		})
	}
}

func TestParseOnly(t *testing.T) {
	shadow := Endpoint{Shadow: true}
	sensitive := Endpoint{Sensitivity: []Tag{SensitivityPII}}
	tests := []struct {
		in            string
		err           bool
		matchShadow   bool
		matchSensitve bool
	}{
		{"", false, true, true},
		{"shadow", false, true, false},
		{"sensitive", false, false, true},
		{"zombie", false, false, false},
		{"new", false, false, false},
		{"shadows", true, false, false},
	}
	for _, tc := range tests {
		o, err := ParseOnly(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseOnly(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if o.Match(&shadow) != tc.matchShadow || o.Match(&sensitive) != tc.matchSensitve {
			t.Errorf("ParseOnly(%q).Match(shadow, sensitive) = %v, %v; want %v, %v", tc.in, o.Match(&shadow), o.Match(&sensitive), tc.matchShadow, tc.matchSensitve)
		}
	}
}
