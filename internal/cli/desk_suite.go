package cli

import (
	"context"
	"fmt"

	"github.com/good-offices/goodoffices/desk"
)

func init() {
	register(&command{name: "desk policy", summary: "show or set the cipher suites this desk uses and accepts (post-quantum by default)", run: runDeskPolicy})
	register(&command{name: "desk upgrade", summary: "move a channel to the post-quantum suite in place (ReInit)", run: runDeskUpgrade})
}

func runDeskUpgrade(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk upgrade", "CHANNEL [--suite SUITE] [--home DIR]", `
Moves a channel to another cipher suite in place, by default the desk's
policy suite (post-quantum: X-Wing, 0x0053). A ReInit commit (RFC 9420
§11.2) closes the channel's MLS group; this desk creates its successor in the
new suite with every member device and sends each a Welcome, which their
desks accept only as the continuation of the group they were in. The channel
keeps its log: its history stays readable and verifiable, and the negotiation
state carries over. What was sent before the upgrade stays as exposed as the
old suite left it.

Every other member device must have published key packages of the new suite
(its desk's 'desk policy --suite'); otherwise the upgrade is refused before
anything is sent. If this desk stops after the ReInit commit, running the
command again finishes the upgrade.`)
	f := addDeskFlags(fs, false)
	suite := fs.String("suite", "", "the `suite` to move to (default: this desk's policy suite)")
	d, ch, err := channelCmd(ctx, env, fs, f, args)
	if err != nil {
		return err
	}
	defer d.Close()
	p, err := d.SuitePolicy(ctx)
	if err != nil {
		return err
	}
	cs := p.Suite
	if *suite != "" {
		if cs, err = desk.ParseSuite(*suite); err != nil {
			return &UsageError{Msg: err.Error()}
		}
	}
	if err := d.Upgrade(ctx, ch, cs); err != nil {
		return alarmErr(err)
	}
	si, err := d.ChannelSuite(ctx, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "channel %s upgraded to %s (%s)\n  %s\n", ch, si.Name, si.Code, si.Summary)
	return nil
}

func runDeskPolicy(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "desk policy", "[--suite SUITE] [--min-suite post-quantum|classical] [--home DIR] [--json]", `
Shows or sets which MLS cipher suites this desk uses and accepts. The venue
does not choose: the host, whom the parties need not trust, must not decide
how strongly the talks are encrypted.

--suite is the suite of the channels this desk opens and of the key packages
it publishes (other desks add it to their channels with those): a code point
(0x0053), a name, "post-quantum" (the default: 0x0053,
MLS_256_XWING_AES256GCM_SHA512_Ed25519, key exchange X-Wing = ML-KEM-768 +
X25519) or "classical" (0x0001, X25519 only). After a change, the next sync
replaces the desk's key packages on the venue.

--min-suite is the weakest suite the desk opens or joins: "post-quantum" (the
default) refuses channels whose key exchange a host recording the talks could
break later with a quantum computer; "classical" accepts them too.
'goodoffices desk upgrade' moves an existing channel to the post-quantum
suite.`)
	f := addDeskFlags(fs, true)
	suite := fs.String("suite", "", "`suite` of new channels and key packages")
	minSuite := fs.String("min-suite", "", "weakest suite accepted: post-quantum or classical")
	d, err := f.parseAndOpen(ctx, env, fs, args)
	if err != nil {
		return err
	}
	defer d.Close()
	p, err := d.SuitePolicy(ctx)
	if err != nil {
		return err
	}
	if *suite != "" || *minSuite != "" {
		if *suite != "" {
			cs, err := desk.ParseSuite(*suite)
			if err != nil {
				return &UsageError{Msg: err.Error()}
			}
			p.Suite = cs
		}
		if *minSuite != "" {
			p.Minimum = *minSuite
		}
		if err := d.SetSuitePolicy(ctx, p); err != nil {
			return err
		}
	}
	si := desk.DescribeSuite(p.Suite)
	if *f.json {
		return deskJSON(env.Stdout, map[string]any{"suite": si, "minimum": p.Minimum})
	}
	fmt.Fprintf(env.Stdout, "new channels: %s (%s)\n  %s\n", si.Name, si.Code, si.Summary)
	fmt.Fprintf(env.Stdout, "accepted:     %s suites and stronger\n", p.Minimum)
	return nil
}
