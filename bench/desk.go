package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/desk"
	"github.com/good-offices/goodoffices/negotiation"
	"github.com/good-offices/goodoffices/venue/client"
)

// DeskConfig configures DeskHistory.
type DeskConfig struct {
	VenueURL string // a running venue
	Admin    string // its admin credential
	Dir      string // where the two desks live (empty directory)
	Sizes    []int  // history sizes to measure, ascending
	Samples  int    // timed repetitions per figure (the median is reported)
	Parallel int    // appends in flight while filling
	Log      io.Writer
}

// A DeskResult is what DeskHistory measures at one history size.
type DeskResult struct {
	History      int           // entries in the channel's log
	ReadLastPage time.Duration // median: the last 20 entries
	Talks        time.Duration // median: the state of the talks, after a first call
	TalksFirst   time.Duration // the first Talks after the sync (advances the snapshot)
	Search       time.Duration // median over the queries, index built
	SearchFirst  time.Duration // the first search after the sync (builds or advances the index)
	SyncEntries  int64         // entries the reading desk synced
	SyncRate     float64       // entries per second, verified, decrypted and stored
	SyncCPU      time.Duration // CPU time of this process (the desks) per entry synced
	FillRate     float64       // entries per second appended by the writing desk
	HeapMiB      float64       // Go heap in use after a GC (both desks, this process)
	MaxRSSMiB    float64       // peak resident memory of this process so far
}

// Line is the result in the form the issue tracker asked for.
func (r DeskResult) Line() string {
	return fmt.Sprintf("history %d: read-last-page %.1f ms, talks %.1f ms, search %.1f ms, sync %.0f entries/s",
		r.History, ms1(r.ReadLastPage), ms1(r.Talks), ms1(r.Search), r.SyncRate)
}

func ms1(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// DeskQueries are the searches DeskHistory times.
var DeskQueries = []string{`"30 km line"`, `переговоров`, `corridor Marisk`, `cessez-le-feu`}

// deskFiller returns the i-th statement of the filled history: varied
// Latin and Cyrillic sentences, a few with the words DeskQueries look for.
func deskFiller(i int) []byte {
	var body string
	switch i % 7 {
	case 0:
		body = fmt.Sprintf("Statement %d: the delegation recalls its position on the %d km line and asks for monitors.", i, 5+i%40)
	case 1:
		body = fmt.Sprintf("Заявление %d: делегация напоминает о переговорах по линии разграничения и о пленных.", i)
	case 2:
		body = fmt.Sprintf("Заява %d: делегація пропонує обмін полоненими до кінця місяця.", i)
	case 3:
		body = fmt.Sprintf("Déclaration %d : la délégation propose un cessez-le-feu sous contrôle international.", i)
	case 4:
		body = fmt.Sprintf("Point %d on the humanitarian corridor near Marisk: opening hours, convoys and inspections.", i)
	case 5:
		body = fmt.Sprintf("Мәлімдеме %d: келіссөздердің жалғасуын қолдаймыз.", i)
	default:
		body = fmt.Sprintf("Procedural remark %d on the agenda of the working group and the next meeting.", i)
	}
	if i%997 == 5 {
		body += " We accept the 30 km line in October."
	}
	return negotiation.NewStatement(body, "", "", "")
}

// DeskHistory runs two desks (one per party) on the venue, fills one
// channel from the first desk to each size in turn, syncs the second desk
// and times, on it, reading the last page, the state of the talks and
// searches. each is called with the result of each size.
func DeskHistory(ctx context.Context, cfg DeskConfig, each func(DeskResult)) error {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	samples := max(cfg.Samples, 3)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(desk.MemoryLimit) // as the desk commands run
	}
	admin, err := client.New(cfg.VenueURL, client.WithAdmin(cfg.Admin), client.WithHTTPClient(NewHTTPClient()))
	if err != nil {
		return err
	}
	roots := map[string]*delegation.RootKey{}
	for _, name := range []string{"arden", "borealia"} {
		root, err := delegation.GenerateRoot(name)
		if err != nil {
			return err
		}
		if _, err := admin.Accredit(ctx, name, root.VerifierKey()); err != nil {
			return fmt.Errorf("failed to accredit %s: %w", name, err)
		}
		roots[name] = root
	}
	const ch = "plenary"
	if _, err := admin.CreateChannel(ctx, client.ChannelSpec{ID: ch, Kind: "plenary", Level: "expert", Members: []string{"arden", "borealia"}}); err != nil {
		return fmt.Errorf("failed to create the channel: %w", err)
	}
	quiet := desk.Options{Logger: slog.New(slog.DiscardHandler)}
	var desks []*desk.Desk
	defer func() {
		for _, d := range desks {
			d.Close()
		}
	}()
	for _, p := range []struct{ deleg, person string }{{"arden", "Tomas Reig"}, {"borealia", "Iryna Holt"}} {
		d, err := desk.Init(ctx, filepath.Join(cfg.Dir, p.deleg), []byte("bench passphrase"), desk.Profile{Delegation: p.deleg, Person: p.person, Role: "expert", Level: "expert"}, quiet)
		if err != nil {
			return err
		}
		desks = append(desks, d)
		req, err := d.CertificateRequest()
		if err != nil {
			return err
		}
		c, err := delegation.ParseCertificate(req)
		if err != nil {
			return err
		}
		cert, err := roots[p.deleg].Certify(c)
		if err != nil {
			return err
		}
		if _, err := d.Enroll(ctx, cfg.VenueURL, "", cert); err != nil {
			return fmt.Errorf("failed to enrol the desk of %s: %w", p.person, err)
		}
	}
	for range 2 {
		for _, d := range desks {
			if _, err := d.Sync(ctx); err != nil {
				return err
			}
			ps, err := d.Parties(ctx)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if _, err := d.VerifyParty(ctx, p.Name, p.Fingerprint); err != nil {
					return err
				}
			}
		}
	}
	writer, reader := desks[0], desks[1]
	if _, err := writer.Send(ctx, ch, deskFiller(1)); err != nil {
		return fmt.Errorf("failed to open the channel: %w", err)
	}
	if _, err := reader.Sync(ctx); err != nil {
		return err
	}
	if _, _, err := reader.Members(ctx, ch); err != nil {
		return fmt.Errorf("the reading desk did not join the channel: %w", err)
	}
	logSize := func(d *desk.Desk) (int64, error) {
		ls, err := d.Logs(ctx)
		if err != nil {
			return 0, err
		}
		for _, l := range ls {
			if l.Log == ch {
				return l.Next, nil
			}
		}
		return 0, fmt.Errorf("no log %s", ch)
	}
	filled := 2
	for _, size := range cfg.Sizes {
		have, err := logSize(writer)
		if err != nil {
			return err
		}
		var r DeskResult
		if n := int64(size) - have; n > 0 {
			payloads := make([][]byte, n)
			for i := range payloads {
				payloads[i] = deskFiller(filled + i)
			}
			filled += int(n)
			logf("history %d: filling %d entries ...", size, n)
			t0 := time.Now()
			if _, err := writer.SendAll(ctx, ch, payloads, cfg.Parallel); err != nil {
				return fmt.Errorf("failed to fill the channel: %w", err)
			}
			r.FillRate = float64(n) / time.Since(t0).Seconds()
		}
		before, err := logSize(reader)
		if err != nil {
			return err
		}
		logf("history %d: syncing the reading desk ...", size)
		cpu0 := cpuTime()
		t0 := time.Now()
		if _, err := reader.Sync(ctx); err != nil {
			return err
		}
		el := time.Since(t0)
		cpu := cpuTime() - cpu0
		after, err := logSize(reader)
		if err != nil {
			return err
		}
		r.History, r.SyncEntries = int(after), after-before
		if r.SyncEntries > 0 {
			r.SyncRate = float64(r.SyncEntries) / el.Seconds()
			r.SyncCPU = cpu / time.Duration(r.SyncEntries)
		}
		r.ReadLastPage = median(samples, func() error {
			ms, err := reader.Read(ctx, ch, after-20, 20)
			if err == nil && len(ms) != min(20, int(after)) {
				err = fmt.Errorf("read %d entries of the last page", len(ms))
			}
			return err
		}, &err)
		if err != nil {
			return err
		}
		t0 = time.Now()
		if _, err := reader.Talks(ctx, ch, ""); err != nil {
			return err
		}
		r.TalksFirst = time.Since(t0)
		r.Talks = median(samples, func() error { _, err := reader.Talks(ctx, ch, ""); return err }, &err)
		if err != nil {
			return err
		}
		t0 = time.Now()
		if _, err := reader.Search(ctx, desk.SearchQuery{Text: DeskQueries[0], Channel: ch, Limit: 20}); err != nil {
			return err
		}
		r.SearchFirst = time.Since(t0)
		var times []time.Duration
		for _, q := range DeskQueries {
			for range samples {
				t0 := time.Now()
				rs, err := reader.Search(ctx, desk.SearchQuery{Text: q, Channel: ch, Limit: 20})
				if err != nil {
					return err
				}
				if len(rs) == 0 {
					return fmt.Errorf("search %s found nothing", q)
				}
				times = append(times, time.Since(t0))
			}
		}
		r.Search = medianOf(times)
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		r.HeapMiB = float64(m.HeapInuse) / (1 << 20)
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			r.MaxRSSMiB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		}
		each(r)
	}
	return nil
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(n int, f func() error, errp *error) time.Duration {
	var ts []time.Duration
	for range n {
		t0 := time.Now()
		if err := f(); err != nil {
			*errp = err
			return 0
		}
		ts = append(ts, time.Since(t0))
	}
	return medianOf(ts)
}

func medianOf(ts []time.Duration) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}
