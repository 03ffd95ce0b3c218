package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/ipintel"
	"github.com/tracehound/tracehound/notify"
	"github.com/tracehound/tracehound/triage"
)

// IPDataDir, in the data directory, is where 'make ipdata' puts the
// offline IP range tables; they are used when ipintel names none.
const IPDataDir = "ipdata"

// services are the state-backed domains the App wires: triage of alert
// notifications, their delivery, containment and IP enrichment.
type services struct {
	triage   *triage.Service
	notifier *notify.Dispatcher
	contain  *contain.Containment

	ask   askCache // the forensic catalog, see askCatalog
	rules rulesState
	// bg tracks background jobs (alert enrichment, automatic responses)
	// that Close waits for, after cancelling resp's.
	bg   sync.WaitGroup
	resp responder

	intelOnce sync.Once
	intel     *ipintel.Enricher
	intelErr  error
}

// openServices builds the services from the configuration.
func (a *App) openServices() error {
	a.triage = triage.New(a.state, triage.Options{Logger: a.log, Now: a.now})
	a.resp.init()
	ncfg, err := notifyConfig(a.cfg.Notify)
	if err != nil {
		return err
	}
	if a.notifier, err = notify.New(ncfg, notify.Options{Log: a.state, Logger: a.log, Registerer: a.reg}); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	var hooks *contain.Webhooks
	if len(a.cfg.Contain.Webhooks) > 0 {
		hooks = contain.NewWebhooks(contain.WebhookConfig{URLs: a.cfg.Contain.Webhooks})
	}
	a.contain = contain.New(a.state, contain.Options{Now: a.now, Logger: a.log, Webhooks: hooks})
	if a.llm, err = openLLM(a.cfg.LLM); err != nil {
		return err
	}
	return a.openEngine()
}

// notifyConfig decodes the notify section with the notify package's own
// strict parser.
func notifyConfig(n yaml.Node) (notify.Config, error) {
	if n.Kind == 0 {
		return notify.Config{}, nil
	}
	b, err := yaml.Marshal(&n)
	if err != nil {
		return notify.Config{}, fmt.Errorf("notify: %w", err)
	}
	return notify.ParseConfig(b)
}

// enricher opens the IP enrichment sources on first use: the range tables
// take seconds to load, and most commands never need them.
func (a *App) enricher() (*ipintel.Enricher, error) {
	a.intelOnce.Do(func() {
		a.intel, a.intelErr = ipintel.Open(ipintelConfig(a.cfg), a.log)
	})
	return a.intel, a.intelErr
}

// ipintelConfig maps the configuration onto ipintel's, finding the tables
// of DATA/ipdata when none is named.
func ipintelConfig(c config.Config) ipintel.Config {
	ic := c.IPIntel
	out := ipintel.Config{
		MMDB: ic.MMDB, ASNCSV: ic.ASNCSV, CountryCSV: ic.CountryCSV,
		DataCenterASNs: ic.DataCenterASNs, TorExitList: ic.TorExitList,
		CacheTTL: time.Duration(ic.CacheTTL),
		RDNS:     ipintel.RDNSConfig{Enabled: ic.RDNS},
		AbuseIPDB: ipintel.AbuseIPDBConfig{
			APIKey: ipintel.Secret(ic.AbuseIPDB.APIKey), KeyFile: ic.AbuseIPDB.KeyFile,
			BaseURL: ic.AbuseIPDB.BaseURL, DailyCheckQuota: ic.AbuseIPDB.DailyQuota,
		},
	}
	if ic.AbuseIPDB.Blacklist {
		out.AbuseIPDB.BlacklistPath = filepath.Join(c.Data, "abuseipdb-blacklist.json")
	}
	dir := filepath.Join(c.Data, IPDataDir)
	if len(out.ASNCSV) == 0 {
		out.ASNCSV = existing(filepath.Join(dir, "asn-ipv4.csv"), filepath.Join(dir, "asn-ipv6.csv"))
	}
	if len(out.CountryCSV) == 0 {
		out.CountryCSV = existing(filepath.Join(dir, "dbip-country-ipv4.csv"), filepath.Join(dir, "dbip-country-ipv6.csv"))
	}
	if len(out.MMDB) == 0 {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.mmdb"))
		out.MMDB = matches
	}
	return out
}

func existing(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// runSweeper lifts expired blocks (and tells bouncers) every
// contain.sweep_interval until ctx ends.
func (a *App) runSweeper(ctx context.Context) {
	interval := time.Duration(a.cfg.Contain.SweepInterval)
	if err := a.contain.SyncDecisions(ctx); err != nil && ctx.Err() == nil {
		a.log.Error("sync decisions", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := a.contain.Sweep(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("sweep expired IP statuses", "err", err)
			}
			continue
		}
		if n := len(res.Expired); n > 0 {
			a.log.Info("expired IP statuses lifted", "count", n)
		}
	}
}

func (a *App) closeServices() error {
	if a.resp.cancel != nil {
		a.resp.cancel()
	}
	a.bg.Wait()
	var err error
	if a.notifier != nil {
		err = a.notifier.Close()
	}
	if a.contain != nil {
		a.contain.Close()
	}
	if a.intel != nil {
		a.intel.Close()
	}
	return err
}
