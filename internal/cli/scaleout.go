package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/venue"
	"github.com/good-offices/goodoffices/venue/fanout"
	"github.com/good-offices/goodoffices/venue/ops"
	"github.com/good-offices/goodoffices/venue/store"
	"github.com/good-offices/goodoffices/venue/store/postgres"
	"github.com/good-offices/goodoffices/venue/store/sqlite"
)

// scaleOutFlags are the flags of 'goodoffices venue' that make it one of
// many stateless nodes: a shared PostgreSQL store and NATS fan-out.
type scaleOutFlags struct {
	db, nats *string
	poll     *time.Duration
}

func addScaleOutFlags(fs *flag.FlagSet) *scaleOutFlags {
	return &scaleOutFlags{
		db:   fs.String("db", "", "keep state in the PostgreSQL database at this `URL` (postgres://user@host:5432/db) instead of SQLite in --data; many venue nodes may share it"),
		nats: fs.String("nats", "", "with --db: NATS server `URL` (nats://host:4222) through which the nodes tell each other of new entries and mail at once"),
		poll: fs.Duration("poll", time.Second, "with --db: how often to poll the database for other nodes' changes when there is no --nats or NATS is down"),
	}
}

// A scaleOut is the store, fan-out and operations wiring of one venue node.
type scaleOut struct {
	flags   *scaleOutFlags
	log     *slog.Logger
	pg      *postgres.Store
	lite    *sqlite.Store
	bus     *fanout.NATS
	metrics *ops.Metrics
	// Store goes into venue.Config.Store; nil means the SQLite default.
	Store  store.Store
	cancel context.CancelFunc
}

// open opens the store (and connects to NATS) before the venue is created:
// PostgreSQL with --db, else the SQLite database in dataDir.
func (f *scaleOutFlags) open(ctx context.Context, log *slog.Logger, dataDir string) (*scaleOut, error) {
	s := &scaleOut{flags: f, log: log, metrics: ops.NewMetrics()}
	if *f.db == "" {
		if *f.nats != "" {
			return nil, &UsageError{Msg: "--nats needs --db: nodes can share state only through PostgreSQL"}
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("failed to create data directory: %w", err)
		}
		lite, err := sqlite.Open(ctx, filepath.Join(dataDir, venue.DBFile))
		if err != nil {
			return nil, err
		}
		s.lite = lite
		s.Store = ops.InstrumentStore(lite, s.metrics)
		return s, nil
	}
	if *f.poll < 10*time.Millisecond {
		return nil, &UsageError{Msg: "--poll must be at least 10ms"}
	}
	st, err := openScaleOutStore(ctx, *f.db)
	if err != nil {
		return nil, err
	}
	s.pg = st.(*postgres.Store)
	var wrapped store.Store = s.pg
	if *f.nats != "" {
		if !strings.HasPrefix(*f.nats, "nats://") && !strings.HasPrefix(*f.nats, "tls://") {
			s.pg.Close()
			return nil, &UsageError{Msg: "--nats: want a nats:// URL"}
		}
		s.bus, err = fanout.DialNATS(ctx, *f.nats, log)
		if err != nil {
			s.pg.Close()
			return nil, err
		}
		wrapped = fanout.Wrap(wrapped, s.bus)
		s.metrics.FanoutConnected = s.bus.Connected
	}
	s.Store = ops.InstrumentStore(wrapped, s.metrics)
	return s, nil
}

// start connects the venue to the other nodes and returns the node's HTTP
// handler: the venue's, with /healthz, /readyz and /metrics.
func (s *scaleOut) start(ctx context.Context, v *venue.Venue) (http.Handler, error) {
	// ctx ends when the node is told to stop: from then on it is not ready.
	o := ops.Options{Metrics: s.metrics, Draining: func() bool { return ctx.Err() != nil }}
	s.metrics.LateCheckpoints = v.LateIntegrations
	ctx, s.cancel = context.WithCancel(ctx)
	if s.pg != nil {
		o.Ping = s.pg.Ping
		heads := func(ctx context.Context) (fanout.Heads, error) {
			l, m, c, err := s.pg.Heads(ctx)
			return fanout.Heads{Logs: l, Mail: m, Channels: c}, err
		}
		if s.bus != nil {
			if err := s.bus.Start(v.Name(), v.PeerChanged); err != nil {
				return nil, err
			}
			s.log.Info("multi-node: PostgreSQL store, fan-out over NATS", "nats", *s.flags.nats)
			// While NATS is down, poll.
			go fanout.Poll(ctx, *s.flags.poll, heads, v.PeerChanged, func() bool { return !s.bus.Connected() }, s.log)
			o.Fanout = func() string {
				if s.bus.Connected() {
					return "fan-out: nats up"
				}
				return "fan-out: nats down, polling the database"
			}
		} else {
			s.log.Warn(fmt.Sprintf("multi-node without --nats: other nodes' changes are seen by polling the database every %s", *s.flags.poll))
			go fanout.Poll(ctx, *s.flags.poll, heads, v.PeerChanged, nil, s.log)
			o.Fanout = func() string { return "fan-out: polling the database every " + s.flags.poll.String() }
		}
	}
	return ops.Handler(v.Handler(), o), nil
}

// close stops polling, closes NATS and the store. Call after venue.Close.
func (s *scaleOut) close() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.bus != nil {
		s.bus.Close()
	}
	if s.pg != nil {
		s.pg.Close()
	}
	if s.lite != nil {
		s.lite.Close()
	}
}

// openScaleOutStore opens the PostgreSQL store at db, or returns nil (the
// venue's embedded SQLite default) when db is empty.
func openScaleOutStore(ctx context.Context, db string) (store.Store, error) {
	if db == "" {
		return nil, nil
	}
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		return nil, &UsageError{Msg: "--db: want a postgres:// URL"}
	}
	s, err := postgres.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("failed to open PostgreSQL store: %w", err)
	}
	return s, nil
}
