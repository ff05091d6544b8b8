package sqlite

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/venue/store"
)

// cpuNow returns the CPU time (user and system) of the process.
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkApplyRound measures the CPU time of applier rounds (process
// CPU, user and system, while nothing else runs) per entry, with rounds of
// per 256-byte entries in each of logs logs: many quiet logs, some busy
// ones, one very busy log.
func BenchmarkApplyRound(b *testing.B) {
	for _, c := range []struct{ logs, per int }{{256, 10}, {64, 80}, {1, 2560}} {
		b.Run(fmt.Sprintf("logs=%d/per=%d", c.logs, c.per), func(b *testing.B) {
			s, err := open(b.Context(), filepath.Join(b.TempDir(), "venue.db"), options{noApply: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			logs := make([]*testLog, c.logs)
			for i := range logs {
				logs[i] = &testLog{name: fmt.Sprintf("ch%d", i)}
			}
			var cpu time.Duration
			entries := 0
			for b.Loop() {
				var batch []store.LogAppend
				for _, l := range logs {
					a := l.next(b, c.per, false, -1)
					for i := range a.Entries {
						a.Entries[i] = append(a.Entries[i], make([]byte, 256-len(a.Entries[i]))...)
						l.entries[len(l.entries)-c.per+i] = a.Entries[i]
					}
					batch = append(batch, a)
				}
				if err := s.Append(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
				c0 := cpuNow(b)
				if err := s.applyRound(false); err != nil {
					b.Fatal(err)
				}
				cpu += cpuNow(b) - c0
				entries += c.logs * c.per
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(entries), "apply-cpu-µs/entry")
		})
	}
}

// BenchmarkReadTables measures reads from the tables (no tail) of a log
// applied in rounds of per entries (small chunks: 4,096 entries; whole
// spans: 65,536): an entry bundle, a level-0 tile and the level-1 tile, as
// the venue serves them.
func BenchmarkReadTables(b *testing.B) {
	for _, c := range []struct{ per, size int }{{10, 1 << 12}, {2560, 1 << 16}} {
		per := c.per
		s, err := open(b.Context(), filepath.Join(b.TempDir(), "venue.db"), options{noApply: true})
		if err != nil {
			b.Fatal(err)
		}
		l := &testLog{name: "ch"}
		for len(l.entries) < c.size {
			if err := s.Append(b.Context(), []store.LogAppend{l.next(b, min(per, c.size-len(l.entries)), false, -1)}); err != nil {
				b.Fatal(err)
			}
			if err := s.applyRound(false); err != nil {
				b.Fatal(err)
			}
		}
		s.mu.Lock()
		delete(s.logs, "ch") // reads from the tables alone
		s.mu.Unlock()
		read := func(b *testing.B, tile tlog.Tile) {
			for b.Loop() {
				if _, err := tlog.ReadTileData(tile, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
					return s.ReadHashes(b.Context(), "ch", idx)
				})); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(fmt.Sprintf("per=%d/bundle", per), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ReadEntries(b.Context(), "ch", 512, 768); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("per=%d/tile0", per), func(b *testing.B) { read(b, tlog.Tile{H: 8, L: 0, N: 2, W: 256}) })
		b.Run(fmt.Sprintf("per=%d/tile1", per), func(b *testing.B) { read(b, tlog.Tile{H: 8, L: 1, N: 0, W: c.size / 256}) })
		s.Close()
	}
}
