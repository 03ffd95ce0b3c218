package contain

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Format is a blocklist export format.
type Format string

// Blocklist export formats (reference/alerting.md §5).
const (
	FormatPlain      Format = "plain"
	FormatNginx      Format = "nginx"
	FormatNginxGeo   Format = "nginx-geo"
	FormatIPSet      Format = "ipset"
	FormatNftables   Format = "nftables"
	FormatAWSWAFv2   Format = "aws-wafv2"
	FormatCloudflare Format = "cloudflare"
)

// Formats lists every export format.
var Formats = []Format{FormatPlain, FormatNginx, FormatNginxGeo, FormatIPSet, FormatNftables, FormatAWSWAFv2, FormatCloudflare}

// ParseFormat returns the format named s, or an error wrapping ErrInvalid.
func ParseFormat(s string) (Format, error) {
	if f := Format(s); slices.Contains(Formats, f) {
		return f, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("%w: unknown blocklist format %q (want %s)", ErrInvalid, s, strings.Join(names, ", "))
}

// Target limits.
const (
	// IPSetMaxElem is the maxelem of the generated ipsets, per family.
	IPSetMaxElem = 131072
	// ipsetMaxTimeout is the largest per-entry timeout ipset accepts.
	ipsetMaxTimeout = 2147483
	// AWSIPSetMaxAddresses is what one AWS WAFv2 IP set holds.
	AWSIPSetMaxAddresses = 10000
	// AWSDefaultMaxSets bounds the IP sets per family by default.
	AWSDefaultMaxSets = 10
	// CloudflareListCapacity is the default capacity of a Cloudflare list
	// (the bouncer's total_ip_list_capacity).
	CloudflareListCapacity = 10000
)

// ExportOptions tune an export.
type ExportOptions struct {
	// Name prefixes sets, tables, lists and variables; "tracehound" by
	// default. Letters, digits, '-' and '_' only.
	Name string
	// Capacity overrides the target's capacity in entries (per address
	// family for ipset and aws-wafv2). 0 keeps the target's: none for
	// plain, nginx, nginx-geo and nftables; IPSetMaxElem for ipset;
	// AWSMaxSets × AWSIPSetMaxAddresses for aws-wafv2;
	// CloudflareListCapacity for cloudflare.
	Capacity int
	// AWSScope is REGIONAL (default) or CLOUDFRONT.
	AWSScope string
	// AWSMaxSets bounds the IP sets per family (default AWSDefaultMaxSets).
	AWSMaxSets int
}

// ExportReport says what an export wrote and what it left out.
type ExportReport struct {
	Format Format `json:"format"`
	// Entries is the size of the effective blocklist; Exported the number
	// of items written (after a target's own splitting or widening);
	// LeftOut the number over the target's capacity.
	Entries  int `json:"entries"`
	Exported int `json:"exported"`
	LeftOut  int `json:"left_out"`
	// Warnings explain anything left out or changed; never empty when
	// LeftOut > 0.
	Warnings []string `json:"warnings"`
}

// item is one prefix as a target will receive it.
type item struct {
	Entry
	timeout int64 // seconds left; 0 = permanent
}

// Export writes bl in format f. Entries over the target's capacity are
// left out by lowest severity, then oldest block, and the report warns
// how many; nothing is dropped silently.
func Export(w io.Writer, f Format, bl Blocklist, opts ExportOptions) (ExportReport, error) {
	if _, err := ParseFormat(string(f)); err != nil {
		return ExportReport{}, err
	}
	if opts.Name == "" {
		opts.Name = "tracehound"
	}
	if strings.Trim(opts.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" || len(opts.Name) > 20 {
		return ExportReport{}, fmt.Errorf("%w: export name %q must be up to 20 letters, digits, '-' or '_'", ErrInvalid, opts.Name)
	}
	if opts.AWSScope == "" {
		opts.AWSScope = "REGIONAL"
	}
	if opts.AWSScope != "REGIONAL" && opts.AWSScope != "CLOUDFRONT" {
		return ExportReport{}, fmt.Errorf("%w: AWS scope %q (want REGIONAL or CLOUDFRONT)", ErrInvalid, opts.AWSScope)
	}
	if opts.AWSMaxSets <= 0 {
		opts.AWSMaxSets = AWSDefaultMaxSets
	}
	rep := ExportReport{Format: f, Entries: len(bl.Entries), Warnings: []string{}}
	items := make([]item, 0, len(bl.Entries))
	for _, e := range bl.Entries {
		it := item{Entry: e}
		if !e.ExpiresAt.IsZero() {
			left := e.ExpiresAt.Sub(bl.At)
			if left <= 0 {
				continue
			}
			it.timeout = int64((left + time.Second - 1) / time.Second)
		}
		items = append(items, it)
	}
	switch f {
	case FormatIPSet, FormatAWSWAFv2:
		items = splitItems(items, 1, 1) // neither takes a /0
	case FormatCloudflare:
		items = cloudflareItems(items, bl.Trusted, &rep)
	}
	capacity := opts.Capacity
	perFamily := false
	switch f {
	case FormatIPSet:
		perFamily = true
		if capacity == 0 {
			capacity = IPSetMaxElem
		}
	case FormatAWSWAFv2:
		perFamily = true
		if capacity == 0 {
			capacity = opts.AWSMaxSets * AWSIPSetMaxAddresses
		}
	case FormatCloudflare:
		if capacity == 0 {
			capacity = CloudflareListCapacity
		}
	}
	if perFamily {
		v4, v6 := byFamily(items)
		v4 = limit(v4, capacity, f, "IPv4", &rep)
		v6 = limit(v6, capacity, f, "IPv6", &rep)
		items = append(v4, v6...)
	} else {
		items = limit(items, capacity, f, "", &rep)
	}
	rep.Exported = len(items)
	bw := bufio.NewWriter(w)
	var err error
	switch f {
	case FormatPlain:
		for _, it := range items {
			fmt.Fprintln(bw, Value(it.Prefix))
		}
	case FormatNginx:
		writeNginx(bw, items, bl.At)
	case FormatNginxGeo:
		writeNginxGeo(bw, items, bl.At, opts.Name)
	case FormatIPSet:
		writeIPSet(bw, items, bl.At, opts.Name)
	case FormatNftables:
		writeNftables(bw, items, bl.At, opts.Name)
	case FormatAWSWAFv2:
		err = writeAWS(bw, items, opts)
	case FormatCloudflare:
		err = writeCloudflare(bw, items)
	}
	if err != nil {
		return rep, fmt.Errorf("export %s: %w", f, err)
	}
	if err := bw.Flush(); err != nil {
		return rep, fmt.Errorf("export %s: %w", f, err)
	}
	return rep, nil
}

// limit keeps the capacity most important items (highest severity, then
// most recently blocked) in address order, and warns about the rest.
func limit(items []item, capacity int, f Format, family string, rep *ExportReport) []item {
	if capacity <= 0 || len(items) <= capacity {
		return items
	}
	ranked := slices.Clone(items)
	slices.SortStableFunc(ranked, func(a, b item) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return comparePrefix(a.Prefix, b.Prefix)
	})
	kept := ranked[:capacity]
	slices.SortFunc(kept, func(a, b item) int { return comparePrefix(a.Prefix, b.Prefix) })
	left := len(items) - capacity
	rep.LeftOut += left
	what := "entries"
	if family != "" {
		what = family + " entries"
	}
	rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %d of %d %s left out, over the capacity of %d (kept the highest severity, then the most recently blocked)",
		f, left, len(items), what, capacity))
	return kept
}

func byFamily(items []item) (v4, v6 []item) {
	for _, it := range items {
		if it.Prefix.Addr().Is4() {
			v4 = append(v4, it)
		} else {
			v6 = append(v6, it)
		}
	}
	return v4, v6
}

// splitItems splits prefixes shorter than min4 (IPv4) or min6 (IPv6).
func splitItems(items []item, min4, min6 int) []item {
	var out []item
	for _, it := range items {
		minBits := min6
		if it.Prefix.Addr().Is4() {
			minBits = min4
		}
		for _, p := range splitTo(it.Prefix, minBits) {
			c := it
			c.Prefix = p
			out = append(out, c)
		}
	}
	return out
}

// cloudflareItems fits items to what Cloudflare lists accept: IPv4
// addresses and /8–/32 ranges, IPv6 /4–/64 ranges. Longer IPv6 prefixes
// are widened to their /64 unless that would cover a trusted address.
func cloudflareItems(items []item, trusted []netip.Prefix, rep *ExportReport) []item {
	items = splitItems(items, 8, 4)
	tset := newPrefixSet(trusted)
	var out []item
	widened, refused := 0, 0
	for _, it := range items {
		if it.Prefix.Addr().Is6() && it.Prefix.Bits() > 64 {
			wide := netip.PrefixFrom(it.Prefix.Addr(), 64).Masked()
			_, covered := tset.covering(wide)
			if covered || len(tset.inside(wide)) > 0 {
				refused++
				continue
			}
			widened++
			it.Prefix = wide
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b item) int { return comparePrefix(a.Prefix, b.Prefix) })
	deduped := out[:0]
	for _, it := range out {
		if n := len(deduped); n > 0 && deduped[n-1].Prefix.Contains(it.Prefix.Addr()) {
			continue
		}
		deduped = append(deduped, it)
	}
	if widened > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("cloudflare: %d IPv6 entries widened to their /64, the narrowest prefix Cloudflare lists accept", widened))
	}
	if refused > 0 {
		rep.LeftOut += refused
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("cloudflare: %d IPv6 entries left out: their /64 contains a trusted address", refused))
	}
	return deduped
}

func header(bw *bufio.Writer, n int, at time.Time) {
	fmt.Fprintf(bw, "# tracehound blocklist: %d entries, generated %s\n", n, at.UTC().Format(time.RFC3339))
}

func writeNginx(bw *bufio.Writer, items []item, at time.Time) {
	header(bw, len(items), at)
	bw.WriteString("# include from an http, server or location block (ngx_http_access_module)\n")
	for _, it := range items {
		fmt.Fprintf(bw, "deny %s;\n", Value(it.Prefix))
	}
}

// variableName turns an export name into an nginx variable or nftables
// identifier.
func variableName(name string) string { return strings.ReplaceAll(name, "-", "_") }

func writeNginxGeo(bw *bufio.Writer, items []item, at time.Time, name string) {
	v := variableName(name) + "_blocked"
	header(bw, len(items), at)
	fmt.Fprintf(bw, "# include in the http block; then, in a server: if ($%s) { return 403; }\n", v)
	fmt.Fprintf(bw, "geo $%s {\n    default 0;\n", v)
	for _, it := range items {
		fmt.Fprintf(bw, "    %s 1;\n", Value(it.Prefix))
	}
	bw.WriteString("}\n")
}

// writeIPSet writes an ipset restore file that fills a temporary set per
// family and swaps it with the live one, so the switch is atomic.
func writeIPSet(bw *bufio.Writer, items []item, at time.Time, name string) {
	header(bw, len(items), at)
	fmt.Fprintf(bw, "# ipset restore < FILE; then: iptables -I INPUT -m set --match-set %s-v4 src -j DROP (ip6tables with %s-v6)\n", name, name)
	v4, v6 := byFamily(items)
	for _, fam := range []struct {
		suffix, family string
		items          []item
	}{{"v4", "inet", v4}, {"v6", "inet6", v6}} {
		live := name + "-" + fam.suffix
		tmp := live + "-tmp"
		params := fmt.Sprintf("hash:net family %s timeout 0 maxelem %d", fam.family, IPSetMaxElem)
		fmt.Fprintf(bw, "create %s %s -exist\n", live, params)
		fmt.Fprintf(bw, "create %s %s -exist\n", tmp, params)
		fmt.Fprintf(bw, "flush %s\n", tmp)
		for _, it := range fam.items {
			fmt.Fprintf(bw, "add %s %s timeout %d -exist\n", tmp, Value(it.Prefix), min(it.timeout, ipsetMaxTimeout))
		}
		fmt.Fprintf(bw, "swap %s %s\n", tmp, live)
		fmt.Fprintf(bw, "destroy %s\n", tmp)
	}
}

// writeNftables writes an nft -f file that replaces the table in one
// transaction: declare (a no-op when it exists), delete, define.
func writeNftables(bw *bufio.Writer, items []item, at time.Time, name string) {
	table := variableName(name)
	header(bw, len(items), at)
	bw.WriteString("# nft -f FILE (atomic)\n")
	fmt.Fprintf(bw, "table inet %s\ndelete table inet %s\ntable inet %s {\n", table, table, table)
	v4, v6 := byFamily(items)
	for _, fam := range []struct {
		set, typ string
		items    []item
	}{{"block_v4", "ipv4_addr", v4}, {"block_v6", "ipv6_addr", v6}} {
		fmt.Fprintf(bw, "\tset %s {\n\t\ttype %s\n\t\tflags interval,timeout\n", fam.set, fam.typ)
		if len(fam.items) > 0 {
			bw.WriteString("\t\telements = {\n")
			for i, it := range fam.items {
				fmt.Fprintf(bw, "\t\t\t%s", Value(it.Prefix))
				if it.timeout > 0 {
					fmt.Fprintf(bw, " timeout %ds", it.timeout)
				}
				if i < len(fam.items)-1 {
					bw.WriteString(",")
				}
				bw.WriteString("\n")
			}
			bw.WriteString("\t\t}\n")
		}
		bw.WriteString("\t}\n")
	}
	bw.WriteString("\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n")
	bw.WriteString("\t\tip saddr @block_v4 drop\n\t\tip6 saddr @block_v6 drop\n\t}\n}\n")
}

// awsUpdateIPSet is the body of an AWS WAFv2 UpdateIPSet request
// (X-Amz-Target: AWSWAF_20190729.UpdateIPSet).
type awsUpdateIPSet struct {
	Name        string   `json:"Name"`
	Scope       string   `json:"Scope"`
	ID          string   `json:"Id"`
	Description string   `json:"Description"`
	Addresses   []string `json:"Addresses"`
	LockToken   string   `json:"LockToken"`
}

// writeAWS writes a JSON array of UpdateIPSet bodies: per family, sets of
// at most AWSIPSetMaxAddresses CIDRs named <name>-v4-0, <name>-v4-1...,
// always at least one per family so that emptied sets are cleared. Id and
// LockToken are left empty for the caller to fill from GetIPSet.
func writeAWS(bw *bufio.Writer, items []item, opts ExportOptions) error {
	v4, v6 := byFamily(items)
	sets := []awsUpdateIPSet{}
	for _, fam := range []struct {
		suffix, label string
		items         []item
	}{{"v4", "IPv4", v4}, {"v6", "IPv6", v6}} {
		n := max(1, (len(fam.items)+AWSIPSetMaxAddresses-1)/AWSIPSetMaxAddresses)
		for i := range n {
			chunk := fam.items[min(i*AWSIPSetMaxAddresses, len(fam.items)):min((i+1)*AWSIPSetMaxAddresses, len(fam.items))]
			set := awsUpdateIPSet{Name: fmt.Sprintf("%s-%s-%d", opts.Name, fam.suffix, i), Scope: opts.AWSScope,
				Description: fmt.Sprintf("tracehound blocks (%s, set %d of %d)", fam.label, i+1, n), Addresses: make([]string, len(chunk))}
			for j, it := range chunk {
				set.Addresses[j] = it.Prefix.String()
			}
			sets = append(sets, set)
		}
	}
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	return enc.Encode(sets)
}

// cloudflareItem is one item of a Cloudflare Lists items request.
type cloudflareItem struct {
	IP      string `json:"ip"`
	Comment string `json:"comment,omitempty"`
}

// writeCloudflare writes the body of PUT .../rules/lists/{list}/items.
func writeCloudflare(bw *bufio.Writer, items []item) error {
	out := make([]cloudflareItem, len(items))
	for i, it := range items {
		comment := it.Reason
		if it.Source != "" && it.Source != SourceManual {
			comment = strings.TrimSpace(it.Source + " " + comment)
		}
		if r := []rune(comment); len(r) > 200 {
			comment = string(r[:200])
		}
		out[i] = cloudflareItem{IP: Value(it.Prefix), Comment: comment}
	}
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ExportCurrent writes the effective blocklist as of now in format f.
func (c *Containment) ExportCurrent(ctx context.Context, w io.Writer, f Format, opts ExportOptions) (ExportReport, error) {
	bl, err := c.Effective(ctx, c.now())
	if err != nil {
		return ExportReport{}, err
	}
	return Export(w, f, bl, opts)
}
