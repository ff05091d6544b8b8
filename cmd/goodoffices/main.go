// Command goodoffices is the single binary of Good Offices: the host's venue
// server, the delegate's desk, the delegation's key tools and the offline
// verifier. Every subcommand lives in internal/cli; this file only wires the
// process to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/good-offices/goodoffices/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
