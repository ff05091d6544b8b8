package cli

import (
	"context"
	"flag"
	"fmt"
)

func init() {
	register(&command{name: "host zone", summary: "show or change the venue's time zone (host admin)", run: runHostZone})
}

const zoneHelp = `
Shows or changes the venue's time zone: the zone of every wall-clock time
the host types (meetings' --start and --end, opening hours) and in which
both web interfaces and every calendar show the venue's times.

A new venue takes the zone of 'goodoffices venue --zone', else the zone of
its schedule.json, else the machine's (TZ, /etc/localtime). A zone set here
is kept with the schedule: it survives restarts and is shared by every venue
node. Meetings keep their instants; their times in the venue's zone read in
the new zone, and the delegates' desks are told at once.

  goodoffices host zone                    # the zone in force
  goodoffices host zone set Europe/Paris   # an IANA time zone name`

func runHostZone(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "host zone", "[set ZONE] [flags]", zoneHelp)
	h := addHostFlags(fs)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fs.Usage()
		return flag.ErrHelp
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	c, _, err := schedClient(env, fs, h)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0 || len(pos) == 1 && pos[0] == "show":
		z, err := c.Zone(ctx)
		if err != nil {
			return err
		}
		if *h.json {
			return printJSON(env, z)
		}
		fmt.Fprintf(env.Stdout, "venue time zone: %s (%s now)\n", z.Zone, z.Offset)
		return nil
	case len(pos) == 2 && pos[0] == "set":
		z, err := c.SetZone(ctx, pos[1])
		if err != nil {
			return err
		}
		if *h.json {
			return printJSON(env, z)
		}
		fmt.Fprintf(env.Stdout, "venue time zone: %s (%s now)\n", z.Zone, z.Offset)
		if z.Meetings > 0 {
			fmt.Fprintf(env.Stdout, "%d meetings keep their instants; their venue times now read in %s ('goodoffices host meetings list')\n", z.Meetings, z.Zone)
		}
		return nil
	case len(pos) >= 1 && pos[0] == "set":
		return &UsageError{Msg: "set needs one IANA time zone, e.g. Europe/Paris"}
	default:
		return &UsageError{Msg: "want no argument (show the zone) or set ZONE"}
	}
}
