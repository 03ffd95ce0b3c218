package ipintel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Blacklist is a pulled AbuseIPDB blacklist, matched locally so thousands of
// addresses cost no /check calls. It is immutable once built and safe for
// concurrent use.
type Blacklist struct {
	// GeneratedAt is the meta.generatedAt of the pull, or the time of a
	// plaintext pull, which carries no metadata.
	GeneratedAt time.Time
	entries     map[netip.Addr]BlacklistEntry
}

// BlacklistEntry is one blacklisted address. A plaintext pull carries only
// the address.
type BlacklistEntry struct {
	// IP is the listed address; the other fields are AbuseIPDB's.
	IP              netip.Addr `json:"ipAddress"`
	CountryCode     string     `json:"countryCode,omitempty"`
	AbuseConfidence int        `json:"abuseConfidenceScore"`
	LastReported    time.Time  `json:"lastReportedAt,omitzero"`
}

// Lookup returns the entry for addr.
func (b *Blacklist) Lookup(addr netip.Addr) (BlacklistEntry, bool) {
	if b == nil {
		return BlacklistEntry{}, false
	}
	e, ok := b.entries[addr.Unmap()]
	return e, ok
}

// Len returns the number of entries.
func (b *Blacklist) Len() int {
	if b == nil {
		return 0
	}
	return len(b.entries)
}

type blacklistJSON struct {
	Meta struct {
		GeneratedAt time.Time `json:"generatedAt"`
	} `json:"meta"`
	Data []BlacklistEntry `json:"data"`
}

// decodeBlacklistJSON decodes the JSON form of /blacklist:
// {"meta":{"generatedAt":...},"data":[{"ipAddress",...}]}.
func decodeBlacklistJSON(body []byte) (*Blacklist, error) {
	var raw struct {
		Meta struct {
			GeneratedAt time.Time `json:"generatedAt"`
		} `json:"meta"`
		Data []struct {
			IPAddress            string     `json:"ipAddress"`
			CountryCode          string     `json:"countryCode"`
			AbuseConfidenceScore int        `json:"abuseConfidenceScore"`
			LastReportedAt       *time.Time `json:"lastReportedAt"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("abuseipdb: decode blacklist: %w", err)
	}
	if raw.Data == nil {
		return nil, errors.New("abuseipdb: decode blacklist: no data array")
	}
	b := &Blacklist{GeneratedAt: raw.Meta.GeneratedAt, entries: make(map[netip.Addr]BlacklistEntry, len(raw.Data))}
	for i, d := range raw.Data {
		addr, err := netip.ParseAddr(d.IPAddress)
		if err != nil || addr.Zone() != "" {
			return nil, fmt.Errorf("abuseipdb: decode blacklist: entry %d: ipAddress %q", i, d.IPAddress)
		}
		e := BlacklistEntry{IP: addr.Unmap(), CountryCode: d.CountryCode, AbuseConfidence: d.AbuseConfidenceScore}
		if d.LastReportedAt != nil {
			e.LastReported = d.LastReportedAt.UTC()
		}
		b.entries[e.IP] = e
	}
	return b, nil
}

// decodeBlacklistPlain decodes the plaintext form: one address a line.
// Blank lines and # comments are skipped; anything else must parse.
func decodeBlacklistPlain(body []byte, generated time.Time) (*Blacklist, error) {
	b := &Blacklist{GeneratedAt: generated, entries: make(map[netip.Addr]BlacklistEntry)}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		addr, err := netip.ParseAddr(line)
		if err != nil || addr.Zone() != "" {
			// A zone (fe80::1%eth0) names a local interface, never a
			// reported address.
			return nil, fmt.Errorf("abuseipdb: decode plaintext blacklist: line %d: %q is not an address", n, line)
		}
		addr = addr.Unmap()
		b.entries[addr] = BlacklistEntry{IP: addr}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("abuseipdb: decode plaintext blacklist: %w", err)
	}
	return b, nil
}

// ReadBlacklist reads a blacklist in either form the API serves: JSON
// (first non-blank byte '{') or plaintext.
func ReadBlacklist(r io.Reader) (*Blacklist, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read blacklist: %w", err)
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		return decodeBlacklistJSON(body)
	}
	return decodeBlacklistPlain(body, time.Time{})
}

// ReadBlacklistFile reads a blacklist stored by WriteFile. A plaintext file
// is dated by its modification time.
func ReadBlacklistFile(path string) (*Blacklist, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read blacklist: %w", err)
	}
	defer f.Close()
	b, err := ReadBlacklist(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if b.GeneratedAt.IsZero() {
		if fi, err := f.Stat(); err == nil {
			b.GeneratedAt = fi.ModTime()
		}
	}
	return b, nil
}

// WriteTo writes the blacklist in the API's JSON form, which ReadBlacklist
// reads back.
func (b *Blacklist) WriteTo(w io.Writer) (int64, error) {
	out := blacklistJSON{Data: make([]BlacklistEntry, 0, b.Len())}
	out.Meta.GeneratedAt = b.GeneratedAt
	for _, e := range b.entries {
		out.Data = append(out.Data, e)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(body)
	return int64(n), err
}

// WriteFile stores the blacklist at path atomically (write, then rename).
func (b *Blacklist) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".blacklist-*")
	if err != nil {
		return fmt.Errorf("write blacklist: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := b.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write blacklist: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write blacklist: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write blacklist: %w", err)
	}
	return nil
}
