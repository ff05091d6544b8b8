package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/client"
)

func init() {
	register(&command{name: "host accredit", summary: "accredit a delegation and its root key (host admin)", run: runHostAccredit})
	register(&command{name: "host delegations", summary: "list the accredited delegations and their fingerprints", run: runHostDelegations})
	register(&command{name: "host channel", summary: "create a channel, change its members, list channels (host admin)", run: runHostChannel})
	register(&command{name: "host devices", summary: "list registered devices (host admin)", run: runHostDevices})
}

// hostFlags are the flags every host command shares.
type hostFlags struct {
	venue     *string
	adminFile *string
	json      *bool
}

func addHostFlags(fs *flag.FlagSet) hostFlags {
	return hostFlags{
		venue:     fs.String("venue", "http://"+venue.DefaultListen, "venue `URL` (or $GOODOFFICES_VENUE)"),
		adminFile: fs.String("admin-file", filepath.Join(venue.DefaultDataDir, venue.AdminFile), "host admin credential `file` (or the credential itself in $GOODOFFICES_ADMIN)"),
		json:      fs.Bool("json", false, "print JSON for scripts"),
	}
}

func (h hostFlags) client(env *Env, fs *flag.FlagSet, admin bool) (*client.Client, error) {
	url := *h.venue
	if e := env.Getenv("GOODOFFICES_VENUE"); e != "" && !flagSet(fs, "venue") {
		url = e
	}
	var opts []client.Option
	if admin {
		cred := env.Getenv("GOODOFFICES_ADMIN")
		if cred == "" || flagSet(fs, "admin-file") {
			data, err := os.ReadFile(*h.adminFile)
			if err != nil {
				return nil, fmt.Errorf("failed to read the admin credential (is this the host's machine? see --admin-file): %w", err)
			}
			cred = strings.TrimSpace(string(data))
		}
		opts = append(opts, client.WithAdmin(cred))
	}
	c, err := client.New(url, opts...)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	return c, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func printJSON(env *Env, v any) error {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runHostAccredit(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host accredit", "[flags] NAME VERIFIER-KEY", `
Accredits a delegation: appends its name and root verifier key to the
venue's accreditation register, a public append-only log (/logs/register/)
that every party verifies, so the host cannot later show different keys to
different parties. The delegation's head gives you the verifier key printed
by 'goodoffices delegation init'; compare its fingerprint with them.

--display-name gives the name people read ("Federation of Arden"); it is
logged in the register with the key, so every party sees the same one. The
web interfaces show the delegation's name (arden) where there is none.

Example:
  goodoffices host accredit arden 'arden+1a2b3c4d+AUx…' --display-name "Federation of Arden"`)
	h := addHostFlags(fs)
	display := fs.String("display-name", "", "the delegation's `name` for people, e.g. \"Federation of Arden\" (logged in the register)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return &UsageError{Msg: "want NAME and VERIFIER-KEY"}
	}
	c, err := h.client(env, fs, true)
	if err != nil {
		return err
	}
	if *display != "" {
		if err := api.CheckDisplayName(*display); err != nil {
			return &UsageError{Msg: "--display-name: " + err.Error()}
		}
	}
	d, err := c.AccreditNamed(ctx, fs.Arg(0), *display, fs.Arg(1))
	if err != nil {
		return err
	}
	if *h.json {
		return printJSON(env, d)
	}
	who := d.Name
	if d.DisplayName != "" {
		who = fmt.Sprintf("%s (%s)", d.Name, d.DisplayName)
	}
	fmt.Fprintf(env.Stdout, "accredited %s (register entry %d)\nfingerprint: %s\n", who, d.Index, d.Fingerprint)
	return nil
}

func runHostDelegations(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host delegations", "[flags]", `
Lists the accredited delegations with their root-key fingerprints, as the
venue reports them. (A desk verifies the register log itself.)`)
	h := addHostFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := h.client(env, fs, false)
	if err != nil {
		return err
	}
	ds, err := c.Delegations(ctx)
	if err != nil {
		return err
	}
	if *h.json {
		return printJSON(env, ds)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELEGATION\tDISPLAY NAME\tFINGERPRINT\tACCREDITED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, orDash(d.DisplayName), d.Fingerprint, d.Accredited.Format(time.RFC3339))
	}
	return tw.Flush()
}

func runHostDevices(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host devices", "[flags] [DELEGATION]", `
Lists registered devices, of one delegation or all, with their status:
active, expired (the certificate's validity ended) or REVOKED (its
delegation revoked it with 'goodoffices delegation revoke'; the venue
refuses it).`)
	h := addHostFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &UsageError{Msg: "at most one delegation"}
	}
	c, err := h.client(env, fs, true)
	if err != nil {
		return err
	}
	ds, err := c.Devices(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *h.json {
		return printJSON(env, ds)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELEGATION\tPERSON\tROLE\tLEVEL\tVALID UNTIL\tSTATUS\tDEVICE")
	for _, d := range ds {
		status := "active"
		switch {
		case d.Revoked:
			status = "REVOKED"
		case !time.Now().Before(d.NotAfter):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Delegation, d.Person, d.Role, d.Level, d.NotAfter.Format(time.RFC3339), status, d.ID)
	}
	return tw.Flush()
}

func runHostChannel(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host channel", "create|members|list [flags]", `
Convenes and lists channels. Each channel is an MLS group of the member
delegations' devices with its own verifiable log; the venue serves a
channel's log only to devices of its member delegations.

  goodoffices host channel create --id ID --kind KIND --level LEVEL --members A,B
  goodoffices host channel members --id ID --members A,B,C
  goodoffices host channel interpreters --id ID --devices DEVICE[,DEVICE]
  goodoffices host channel list

'interpreters' lets interpreters' devices (certified with role interpreter)
use a channel's log; the parties' desks add one to the channel's group only
once every party has consented (goodoffices desk interpreter consent), and
any party removes it. --devices '' ends the venue's permission.

Kinds: `+strings.Join(venue.Kinds, ", ")+`.
Levels: expert, senior-officials, ministerial, leaders.`)
	h := addHostFlags(fs)
	id := fs.String("id", "", "channel `id`: 1-64 of a-z, 0-9, '-'")
	kind := fs.String("kind", "", "channel `kind`")
	level := fs.String("level", "expert", "`level` of the channel")
	members := fs.String("members", "", "member delegations, comma-separated")
	devices := fs.String("devices", "", "interpreters' device IDs, comma-separated")
	if len(args) == 0 {
		fs.Usage()
		return &UsageError{Msg: "want create, members, interpreters or list"}
	}
	if args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return flag.ErrHelp
	}
	sub, pos, err := parseSub(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &UsageError{Msg: "unexpected arguments: " + strings.Join(pos, " ")}
	}
	split := func(s string) []string {
		var out []string
		for _, m := range strings.Split(s, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, m)
			}
		}
		return out
	}
	c, err := h.client(env, fs, true)
	if err != nil {
		return err
	}
	var ch client.Channel
	switch sub {
	case "create":
		if *id == "" || *kind == "" || *members == "" {
			return &UsageError{Msg: "create needs --id, --kind and --members"}
		}
		ch, err = c.CreateChannel(ctx, client.ChannelSpec{ID: *id, Kind: *kind, Level: *level, Members: split(*members)})
	case "members":
		if *id == "" || *members == "" {
			return &UsageError{Msg: "members needs --id and --members"}
		}
		ch, err = c.SetMembers(ctx, *id, split(*members))
	case "interpreters":
		if *id == "" || !isFlagSet(fs, "devices") {
			return &UsageError{Msg: "interpreters needs --id and --devices"}
		}
		ch, err = c.SetInterpreters(ctx, *id, split(*devices))
	case "list":
		chs, err := c.Channels(ctx)
		if err != nil {
			return err
		}
		if *h.json {
			return printJSON(env, chs)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHANNEL\tKIND\tLEVEL\tMEMBERS")
		for _, ch := range chs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.ID, ch.Kind, ch.Level, strings.Join(ch.Members, ","))
		}
		return tw.Flush()
	default:
		return &UsageError{Msg: "unknown subcommand " + sub + ": want create, members, interpreters or list"}
	}
	if err != nil {
		return err
	}
	if *h.json {
		return printJSON(env, ch)
	}
	fmt.Fprintf(env.Stdout, "channel %s (%s, %s): %s\nlog origin: %s\n", ch.ID, ch.Kind, ch.Level, strings.Join(ch.Members, ", "), ch.Origin)
	if len(ch.Interpreters) > 0 {
		fmt.Fprintf(env.Stdout, "interpreters' devices (admitted by the parties' consent only): %s\n", strings.Join(ch.Interpreters, ", "))
	}
	return nil
}
