package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/good-offices/goodoffices/internal/dirlock"
	"github.com/good-offices/goodoffices/internal/lane"
	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/api"
)

func init() {
	register(&command{name: "venue", summary: "run the host's venue server (logs, mailboxes, live delivery)", run: runVenue})
}

// venueLockFile is the file in the venue's data directory that a running
// venue holds an exclusive lock on.
const venueLockFile = "venue.lock"

func runVenue(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "venue", "[flags]", `
Runs the venue: the host's server that relays and logs the delegations'
encrypted messages. Every channel is an append-only Merkle log with signed
checkpoints, served read-only per C2SP tlog-tiles under /logs/<id>/, so every
party can verify that the host did not alter, drop, reorder or fork anything.

On first start it creates, in the data directory, the venue's signing key
(venue.key), the host admin credential (admin.token, mode 0600) and the
SQLite database (venue.db). The access log (access/, one file per hour)
keeps per request only the minute, route pattern, status and duration, for
--access-log-retention; docs/metadata.md says what the venue learns and
keeps. It prints the venue's verifier key: give it to
the delegations, who pin it in their desks.

The venue's time zone (--zone, an IANA name such as Asia/Almaty) is the
zone of every wall-clock time the host types and in which the web
interfaces and calendars show the venue's times. Without --zone a new venue
takes the zone of its schedule.json, else this machine's (TZ,
/etc/localtime); a zone given with --zone or 'goodoffices host zone set' is
kept with the schedule and stays until changed. The venue prints the zone in
force when it starts.

Stop it with Ctrl-C (SIGINT) or SIGTERM: it finishes the appends in flight
and never loses an acknowledged entry.

It runs Go's garbage collector at GOGC=400 unless GOGC is set in the
environment (less CPU per append for more memory; docs/deploy.md).

Examples:
  goodoffices venue
  goodoffices venue --listen 0.0.0.0:8470 --data /var/lib/goodoffices --name venue.caspia.example \
      --display-name "Caspia venue" --zone Asia/Almaty`)
	listen := fs.String("listen", venue.DefaultListen, "`address` to listen on")
	data := fs.String("data", venue.DefaultDataDir, "data `directory` (keys, admin credential, database)")
	name := fs.String("name", venue.DefaultName, "venue `name` for a new signing key (log origins are <name>/channels/<id>); ignored once the key exists")
	displayName := fs.String("display-name", "", "the venue's `name` for people, e.g. \"Caspia venue\", shown by the web interfaces (default: --name)")
	maxEntry := fs.Int("max-entry", venue.DefaultMaxEntry, "largest log entry in `bytes` (at most 65535)")
	maxMail := fs.Int("max-mail", venue.DefaultMaxMail, "largest Welcome message or key package upload in `bytes`")
	rate := fs.Float64("rate", venue.DefaultRate, "appends per second per device (negative: unlimited)")
	burst := fs.Int("burst", venue.DefaultBurst, "burst of appends per device")
	maxStreams := fs.Int("max-streams", venue.DefaultMaxStreams, "concurrent event streams per device")
	maxConns := fs.Int("max-conns", 4096, "concurrent TCP connections")
	h2c := fs.Bool("h2c", true, "also accept HTTP/2 without TLS (h2c with prior knowledge) on the listener, beside HTTP/1.1; in production put TLS in front (docs/deploy.md)")
	inLane := fs.Bool("lane", true, "serve single-entry appends on HTTP/1.1 connections without net/http's per-request machinery (internal/lane), handing every other request to net/http; --lane=false serves everything with net/http")
	maxPending := fs.Int("max-pending-conns", 0, "connections that have not yet authenticated, within --max-conns; the oldest is closed for a new client past it (0: a quarter of --max-conns)")
	mailboxMessages := fs.Int("mailbox-messages", venue.DefaultMailboxMessages, "messages one device's mailbox holds; mail past it is refused (507)")
	mailboxBytes := fs.Int64("mailbox-bytes", venue.DefaultMailboxBytes, "`bytes` one device's mailbox holds; mail past it is refused (507)")
	mailTTL := fs.Duration("mail-ttl", venue.DefaultMailTTL, "mail nobody fetched is deleted after this `duration`")
	claims := fs.Int("claims", venue.DefaultClaimBurst, "key package claims per device per --claim-window (429 past it)")
	claimWindow := fs.Duration("claim-window", venue.DefaultClaimWindow, "`duration` over which --claims refill")
	minFree := fs.Int64("min-free", venue.DefaultMinFree, "refuse new data (507) while the data directory's disk has fewer free `bytes` (negative: never)")
	maxBatch := fs.Int("max-batch", venue.DefaultMaxBatch, "most appends per group commit")
	within := fs.Duration("checkpoint-within", venue.DefaultCheckpointWithin, "serve a signed checkpoint covering every acknowledged append within this `duration` (one signature per log per half of it; desks alarm on a venue that never does)")
	tokenTTL := fs.Duration("token-ttl", venue.DefaultTokenTTL, "lifetime of a device's bearer token")
	accessRetention := fs.Duration("access-log-retention", venue.DefaultAccessLogRetention, "keep the access log (<data>/access/: per request only the minute, route pattern, status and duration) for this `duration`, then delete it; 0: keep no access log")
	zone := fs.String("zone", "", "the venue's IANA time `zone`, e.g. Europe/Paris (default: the zone set before, else schedule.json's, else this machine's: "+schedule.MachineZone()+")")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	scale := addScaleOutFlags(fs) // --db, --nats, --poll: see scaleout.go
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + fmt.Sprint(fs.Args())}
	}
	if *accessRetention < 0 {
		return &UsageError{Msg: "--access-log-retention must not be negative"}
	}
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(venue.GCPercent)
	}
	if *accessRetention == 0 {
		*accessRetention = -1 // venue.Config: keep none
	}
	if *maxEntry < 1 || *maxEntry > 65535 {
		return &UsageError{Msg: "--max-entry must be between 1 and 65535"}
	}
	if *displayName != "" {
		if err := api.CheckDisplayName(*displayName); err != nil {
			return &UsageError{Msg: "--display-name: " + err.Error()}
		}
	}
	if *zone != "" {
		if _, err := schedule.LoadZone(*zone); err != nil {
			return &UsageError{Msg: "--zone: " + err.Error()}
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return &UsageError{Msg: "--log-level: " + err.Error()}
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	// Listen first and lock the data directory next, so that a venue on a
	// busy port or a second venue on a directory in use stops before it
	// creates or changes anything (keys, admin credential, databases).
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s (another venue running?): %w", *listen, err)
	}
	defer ln.Close()
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("failed to create the data directory: %w", err)
	}
	lock, err := dirlock.Acquire(*data, venueLockFile)
	if err != nil {
		return fmt.Errorf("another venue uses the data directory: %w; stop it, or give this one its own --data", err)
	}
	defer lock.Release()
	node, err := scale.open(ctx, logger, *data)
	if err != nil {
		return err
	}
	defer node.close()
	v, err := venue.New(ctx, venue.Config{
		DataDir: *data, Name: *name, DisplayName: *displayName, Logger: logger, MaxEntry: *maxEntry, MaxMail: *maxMail,
		Rate: *rate, Burst: *burst, MaxStreams: *maxStreams, MaxBatch: *maxBatch, CheckpointWithin: *within, TokenTTL: *tokenTTL,
		Store: node.Store, MailboxMessages: *mailboxMessages, MailboxBytes: *mailboxBytes, MailTTL: *mailTTL,
		ClaimBurst: *claims, ClaimWindow: *claimWindow, MinFree: *minFree, AccessLogRetention: *accessRetention,
	})
	if err != nil {
		return err
	}
	// The host's schedule (rooms, meetings, calendar feeds): schedule.db and
	// the optional schedule.json in the data directory; see venue/schedule.go.
	schedStore, zoneInForce, err := v.MountScheduleWith(ctx, logger, venue.ScheduleOptions{Zone: *zone, DefaultZone: schedule.MachineZone()})
	if err != nil {
		v.Close()
		return err
	}
	defer schedStore.Close()
	handler, err := node.start(ctx, v) // /healthz, /readyz, /metrics, fan-out between nodes
	if err != nil {
		v.Close()
		return err
	}
	// At most --max-conns connections, of which --max-pending-conns not yet
	// authenticated; bodies are read within a time bounded by their size
	// limit, headers past venue.MaxHeaderBytes get the venue's JSON 431.
	ln = venue.LimitListener(ln, *maxConns, *maxPending)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 4 * venue.MaxHeaderBytes, ConnContext: venue.ConnContext}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(*h2c)
	created := ""
	if v.AdminCreated {
		created = " (created now; keep it secret)"
	}
	fmt.Fprintf(env.Stdout, "venue %s listening on http://%s\n", v.Name(), ln.Addr())
	fmt.Fprintf(env.Stdout, "verifier key: %s\n", v.VerifierKey())
	fmt.Fprintf(env.Stdout, "admin credential: %s%s\n", v.AdminFile(), created)
	fmt.Fprintf(env.Stdout, "time zone: %s (change it with 'goodoffices host zone set ZONE')\n", zoneInForce)
	logger.Info("venue started", "name", v.Name(), "addr", ln.Addr().String(), "data", *data)

	var serve func(net.Listener) error = srv.Serve
	shutdown := srv.Shutdown
	if *inLane {
		ls := &lane.Server{HTTP: srv, Serves: venue.InLane}
		serve, shutdown = ls.Serve, ls.Shutdown
		node.metrics.Lane = func() (int64, int64) { return ls.Served(), ls.HandedOver() }
	}
	errc := make(chan error, 1)
	go func() { errc <- serve(ln) }()
	select {
	case err := <-errc:
		v.Close()
		return fmt.Errorf("server failed: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	v.BeginShutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serr := shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		serr = errors.Join(serr, err)
	}
	if err := v.Close(); err != nil {
		serr = errors.Join(serr, err)
	}
	if serr != nil {
		return fmt.Errorf("failed to shut down cleanly: %w", serr)
	}
	logger.Info("stopped")
	return nil
}
