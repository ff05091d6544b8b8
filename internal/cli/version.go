package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() {
	register(&command{name: "version", summary: "the module version and VCS revision of this binary", run: runVersion})
}

func runVersion(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "version", "", `
Prints the module version and the VCS revision this binary was built from
(runtime/debug.ReadBuildInfo), and the Go version.`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("failed to read the build information")
	}
	rev, when, dirty := "unknown", "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	fmt.Fprintf(env.Stdout, "goodoffices %s\nrevision %s%s%s\n%s\n", bi.Main.Version, rev, when, dirty, bi.GoVersion)
	return nil
}
