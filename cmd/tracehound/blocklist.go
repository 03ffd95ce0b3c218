package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/contain"
)

func newBlocklistCmd(g *globals) *cobra.Command {
	var format, output string
	names := make([]string, len(contain.Formats))
	for i, f := range contain.Formats {
		names[i] = string(f)
	}
	cmd := &cobra.Command{
		Use:   "blocklist [--format " + strings.Join(names, "|") + "] [-o FILE]",
		Short: "Export the effective blocklist for nginx, ipset, nftables, AWS WAF or Cloudflare",
		Long: `Blocklist writes the addresses and ranges in force as blocked — expired
blocks left out, trusted addresses carved out — in a format a firewall or
WAF loads:

  plain       one address or CIDR a line
  nginx       "deny ADDR;" lines for an include
  nginx-geo   a geo block setting $tracehound_blocked
  ipset       an "ipset restore" file that swaps the sets atomically
  nftables    an "nft -f" file that replaces the table atomically
  aws-wafv2   UpdateIPSet request bodies (fill Id and LockToken from GetIPSet)
  cloudflare  the body of a Cloudflare list items PUT

Entries over a target's capacity are left out (lowest severity, then oldest
first) with a warning on standard error. CrowdSec bouncers need no export:
register one with 'tracehound bouncers add NAME'.

Examples:
  tracehound blocklist
  tracehound blocklist --format nginx -o /etc/nginx/conf.d/tracehound-deny.conf
  tracehound blocklist --format nftables | nft -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := contain.ParseFormat(format); err != nil {
				return usagef("--format %q: want %s", format, strings.Join(names, ", "))
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "blocklist exports")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Blocklist(cmd.Context(), format)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(g.stderr, "warning:", w)
			}
			if output == "" || output == "-" {
				_, err := g.stdout.Write(res.Body)
				return err
			}
			tmp := output + ".tmp"
			if err := os.WriteFile(tmp, res.Body, 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp, output); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%s: %d of %d entries written (%s)\n", output, res.Exported, res.Entries, res.Format)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", string(contain.FormatPlain), "export format: "+strings.Join(names, ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE (atomically) instead of standard output")
	return cmd
}
