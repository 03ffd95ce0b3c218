package app

import (
	"context"
	"net/url"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/config"
)

var _ api.SettingsBackend = (*App)(nil)

// Settings implements api.SettingsBackend: the configuration the server
// runs with, for the Settings page. Secrets are reported as set or not,
// URLs by scheme and host only.
func (a *App) Settings(ctx context.Context) (*api.Settings, error) {
	c := a.cfg
	dur := func(d config.Duration) string {
		if d == 0 {
			return "0"
		}
		return d.String()
	}
	out := &api.Settings{
		Retention: dur(c.Retention),
		Store:     api.StoreSettings{Driver: c.Store.Driver, Mode: c.Store.Mode, Server: hostOf(c.Store.DSN)},
		State:     c.State.Driver,
		Auth: api.AuthSettings{Enabled: c.Auth.Enabled, SessionTTL: dur(c.Auth.SessionTTL), SecureCookies: c.Auth.SecureCookies,
			RateLimit: c.Auth.RateLimit},
		Ingest: api.IngestSettings{OTLPHTTP: c.OTLPHTTP, OTLPGRPC: c.OTLPGRPC, RequireToken: c.Ingest.RequireToken,
			MaxBodyBytes: c.Ingest.MaxBodyBytes, RedactParams: nonNil(c.Ingest.RedactParams)},
		Rules: api.RulesSettings{Builtin: c.Rules.Builtin, Dirs: nonNil(c.Rules.Dirs), Disabled: nonNil(c.Rules.Disabled),
			QueryOffset: dur(c.Rules.QueryOffset), ReplayCacheMB: c.Rules.ReplayCacheMB},
		APIMap: api.APIMapSettings{SnapshotInterval: dur(c.APIMap.SnapshotInterval), Window: dur(c.APIMap.Window),
			SnapshotRetention: dur(c.APIMap.SnapshotRetention)},
		IPIntel: api.IPIntelSettings{Sources: []string{}, MMDB: nonNil(c.IPIntel.MMDB), ASNCSV: nonNil(c.IPIntel.ASNCSV),
			CountryCSV: nonNil(c.IPIntel.CountryCSV), TorExitList: c.IPIntel.TorExitList, RDNS: c.IPIntel.RDNS,
			CacheTTL: dur(c.IPIntel.CacheTTL), AbuseIPDB: c.IPIntel.AbuseIPDB.APIKey != "" || c.IPIntel.AbuseIPDB.KeyFile != "",
			AbuseIPDBURL: hostOf(c.IPIntel.AbuseIPDB.BaseURL), DailyQuota: c.IPIntel.AbuseIPDB.DailyQuota, Blacklist: c.IPIntel.AbuseIPDB.Blacklist},
		Contain: api.ContainSettings{Webhooks: []string{}, AutoResponse: c.Contain.AutoResponse, MaxAutoBlocksPerHour: c.Contain.MaxAutoBlocksPerHour,
			InvestigateAlerts: c.Contain.Detector.InvestigateAlerts, DetectorMinRisk: c.Contain.Detector.MinRisk, DetectorMode: c.Contain.Detector.Mode},
		LLM: api.LLMSettings{Configured: a.llm != nil, Server: hostOf(c.LLM.BaseURL), Model: c.LLM.Model,
			KeySet: c.LLM.APIKey != "" || c.LLM.APIKeyFile != ""},
		Notify: []api.ReceiverSettings{},
	}
	if out.Store.Driver == "" {
		out.Store.Driver = "duckdb"
	}
	if out.State == "" {
		out.State = "sqlite"
	}
	if c.Contain.Detector.Block > 0 {
		out.Contain.DetectorBlock = c.Contain.Detector.Block.String()
	}
	if c.LLM.Timeout > 0 {
		out.LLM.Timeout = c.LLM.Timeout.String()
	}
	for _, u := range c.Contain.Webhooks {
		out.Contain.Webhooks = append(out.Contain.Webhooks, hostOf(u))
	}
	if pins, err := a.MapPins(ctx); err == nil { // stored and configured
		for _, p := range pins.Pins {
			if p.Kind == api.PinLiteral {
				out.APIMap.DoNotMerge++
			} else {
				out.APIMap.Pins++
			}
		}
	}
	if e, err := a.enricher(); err == nil && e != nil {
		out.IPIntel.Sources = e.SourceNames()
	}
	if ncfg, err := notifyConfig(c.Notify); err == nil {
		for _, r := range ncfg.Receivers {
			rs := api.ReceiverSettings{Name: r.Name, Kinds: []string{}}
			if len(r.SlackConfigs) > 0 {
				rs.Kinds = append(rs.Kinds, "slack")
			}
			if len(r.WebhookConfigs) > 0 {
				rs.Kinds = append(rs.Kinds, "webhook")
			}
			if len(r.EmailConfigs) > 0 {
				rs.Kinds = append(rs.Kinds, "email")
			}
			out.Notify = append(out.Notify, rs)
		}
	}
	return out, nil
}

// hostOf reduces a URL or DSN to its scheme and host: paths, queries and
// user information often carry secrets.
func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(set)"
	}
	return u.Scheme + "://" + u.Host
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
