package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
)

func newUsersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "List and manage user accounts (admin)",
		Long: `Users lists the accounts that sign in to the UI, and manages them. Roles:
viewer (reads), analyst (also triages, investigates, blocks, edits rules),
admin (also manages users, tokens and settings).

A user may be scoped to applications (see 'tracehound apps'): they then see
only those applications' data, so that several teams share one tracehound.
An unscoped user sees every application. A scoped admin manages only the
users and tokens within its own applications.

Examples:
  tracehound users add ana --role analyst --apps checkout,billing
  tracehound users apps ana search      # now sees search only
  tracehound users apps ana ""          # every application again

The first server start creates the user admin with a one-time password, which
'serve' prints once; reset a lost one on the server's machine with
  tracehound users passwd admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "user management")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Users(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Users))
			for _, u := range res.Users {
				note := ""
				if u.MustChangePassword {
					note = "must change password"
				}
				rows = append(rows, []any{u.Name, string(u.Role), showApplications(u.Applications, "(all)"), u.CreatedAt, note})
			}
			return printTable(g.stdout, []string{"name", "role", "applications", "created_at", "note"}, rows)
		},
	}
	var role, password string
	var addApps []string
	add := &cobra.Command{
		Use:   "add NAME --role viewer|analyst|admin [--apps APP,…]",
		Short: "Create a user (a one-time password is generated unless --password-stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			if password == "-" {
				if password, err = readPassword(g, "password for "+args[0]); err != nil {
					return err
				}
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "user management")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.CreateUser(cmd.Context(), api.UserRequest{Name: args[0], Role: r, Password: password, Applications: addApps})
			if err != nil {
				return err
			}
			if len(res.User.Applications) > 0 {
				fmt.Fprintf(g.stdout, "created %s (%s; applications %s)\n", res.User.Name, res.User.Role, showApplications(res.User.Applications, ""))
			} else {
				fmt.Fprintf(g.stdout, "created %s (%s)\n", res.User.Name, res.User.Role)
			}
			if res.Password != "" {
				fmt.Fprintf(g.stdout, "one-time password: %s\n(shown once; the user sets their own at first sign-in)\n", res.Password)
			}
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "viewer", "viewer, analyst or admin")
	add.Flags().StringVar(&password, "password", "", "\"-\" to read the password from the terminal or standard input; empty generates one")
	add.Flags().StringSliceVar(&addApps, "apps", nil, "applications whose data the user sees, comma-separated (default: every application; a scoped admin's own)")
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password (read from the terminal or standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(g, "new password for "+args[0])
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "user management")
			if err != nil {
				return err
			}
			defer release()
			if err := b.SetUserPassword(cmd.Context(), args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "password of %s changed\n", args[0])
			return nil
		},
	}
	setRole := &cobra.Command{
		Use:   "role NAME viewer|analyst|admin",
		Short: "Change a user's role",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(args[1])
			if err != nil {
				return usageError{err}
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "user management")
			if err != nil {
				return err
			}
			defer release()
			u, err := b.SetUserRole(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s is now %s\n", u.Name, u.Role)
			return nil
		},
	}
	setApps := &cobra.Command{
		Use:   "apps NAME APP[,APP…]|\"\"",
		Short: "Change the applications whose data a user sees (\"\" for every application)",
		Long: `Apps scopes a user to applications: they then see only those applications'
data. An empty list ("") lets them see every application again. Their tokens
follow: a token sees at most what its user sees.

Examples:
  tracehound users apps ana checkout,billing
  tracehound users apps ana ""`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "user management")
			if err != nil {
				return err
			}
			defer release()
			u, err := b.SetUserApplications(cmd.Context(), args[0], splitApplications(args[1]))
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s now sees %s\n", u.Name, showApplications(u.Applications, "every application"))
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user with their tokens and sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "user management")
			if err != nil {
				return err
			}
			defer release()
			if err := b.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "deleted %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, passwd, setRole, setApps, del)
	return cmd
}

// splitApplications reads a comma-separated list of application names;
// blanks are dropped, so "" is the empty list (every application).
func splitApplications(s string) []string {
	out := []string{}
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// showApplications prints an application list, or none when it is empty.
func showApplications(apps []string, none string) string {
	if len(apps) == 0 {
		return none
	}
	return strings.Join(apps, ",")
}

// readPassword reads a password without echo from a terminal, or one
// line of standard input otherwise.
func readPassword(g *globals, prompt string) (string, error) {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprintf(g.stderr, "%s: ", prompt)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newTokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "List and manage API tokens",
		Long: `Tokens lists the API tokens you may see (all of them for an admin, your own
otherwise) and manages them. A token carries a role: viewer, analyst, admin,
or ingest (may only send spans over OTLP). Secrets are shown once, at creation;
tracehound stores only their hashes.

A token may be scoped to applications (--apps): it then sees only their data.
It can only narrow what its issuer sees, never widen it: a scoped user's
token sees at most the user's applications (without --apps, all of them),
and narrows with the user when an admin changes the user's applications.

Examples:
  tracehound tokens create ci-reports --role viewer --expires 90d
  tracehound tokens create payments-ci --role viewer --apps checkout,billing
  tracehound tokens create collector --service --role ingest
      # then: OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer th_…"
  tracehound tokens revoke tok_AbC123`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "tokens")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Tokens))
			for _, t := range res.Tokens {
				user := t.User
				if user == "" {
					user = "(service)"
				}
				rows = append(rows, []any{t.ID, t.Name, string(t.Role), user, tokenApplications(t), t.CreatedAt, optTime(t.ExpiresAt), optTime(t.LastUsedAt)})
			}
			return printTable(g.stdout, []string{"id", "name", "role", "user", "applications", "created_at", "expires_at", "last_used_at"}, rows)
		},
	}
	var role string
	var expires config.Duration
	var service bool
	var apps []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Issue a token and print its secret (once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "tokens")
			if err != nil {
				return err
			}
			defer release()
			req := api.TokenRequest{Name: args[0], Role: r, Service: service, Applications: apps}
			if expires > 0 {
				req.ExpiresIn = expires.String()
			}
			res, err := b.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			fmt.Fprintln(g.stdout, res.Secret)
			fmt.Fprintf(g.stderr, "token %s (%s, %s; applications %s) created; the secret above is shown once\n", res.Token.ID, res.Token.Name, res.Token.Role, tokenApplications(res.Token))
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "viewer", "viewer, analyst, admin or ingest")
	create.Flags().Var(&expires, "expires", "lifetime such as 90d (default: never)")
	create.Flags().BoolVar(&service, "service", false, "a service token, acting for no user (admins only)")
	create.Flags().StringSliceVar(&apps, "apps", nil, "applications whose data the token sees, comma-separated, among yours (default: all you see)")
	revoke := &cobra.Command{
		Use:     "revoke ID",
		Aliases: []string{"delete"},
		Short:   "Revoke a token",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "tokens")
			if err != nil {
				return err
			}
			defer release()
			if err := b.DeleteToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, revoke)
	return cmd
}

// tokenApplications describes what a token sees: its applications, its
// application for an ingest key, else its user's or every application.
func tokenApplications(t auth.TokenInfo) string {
	switch {
	case t.Application != "":
		return t.Application
	case len(t.Applications) > 0:
		return showApplications(t.Applications, "")
	case t.User != "":
		return "(the user's)"
	}
	return "(all)"
}

func optTime(t time.Time) any {
	if t.IsZero() {
		return ""
	}
	return t
}

func newAuditCmd(g *globals) *cobra.Command {
	var q api.AuditQuery
	var since config.Duration
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log: who changed what, when (admin)",
		Long: `Audit prints the audit log, newest first: every change of state (users,
tokens, sign-ins, and the alerts, IP blocks, rules and exclusions of later
commands) with its actor and the object before and after.

Examples:
  tracehound audit --since 7d
  tracehound audit --action ip.        # every IP status change
  tracehound audit --actor user:alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AuthBackend](cmd.Context(), g, "the audit log")
			if err != nil {
				return err
			}
			defer release()
			q.Window = time.Duration(since)
			res, err := b.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Entries))
			for _, e := range res.Entries {
				rows = append(rows, []any{e.ID, e.At, e.Actor, e.Action, e.Target, string(e.After)})
			}
			return printTable(g.stdout, []string{"id", "at", "actor", "action", "target", "after"}, rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Actor, "actor", "", "keep one actor, e.g. user:alice or token:tok_…")
	f.StringVar(&q.Action, "action", "", "keep one action, or a prefix ending in '.' such as ip.")
	f.StringVar(&q.Target, "target", "", "keep one target, e.g. ip:203.0.113.7")
	f.Var(&since, "since", "how far back, e.g. 7d")
	f.IntVar(&q.Limit, "limit", 0, "at most this many entries (default 100)")
	return cmd
}
