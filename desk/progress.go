package desk

import (
	"sync"
	"time"
)

// SyncProgress is how far the desk has got through the new entries of a
// log during a sync: a desk that was offline for a week catches up on
// thousands of entries, each verified, decrypted and stored.
type SyncProgress struct {
	Log     string    `json:"log"`
	Done    int64     `json:"done"`  // entries processed so far in this sync of the log
	Total   int64     `json:"total"` // entries new in this sync of the log
	Started time.Time `json:"started"`
}

// Rate returns the entries processed per second so far.
func (p SyncProgress) Rate() float64 {
	el := time.Since(p.Started).Seconds()
	if el <= 0 || p.Done == 0 {
		return 0
	}
	return float64(p.Done) / el
}

// Left estimates the time left at the rate so far (0 if unknown).
func (p SyncProgress) Left() time.Duration {
	r := p.Rate()
	if r == 0 || p.Total <= p.Done {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / r * float64(time.Second))
}

// progressMin is the backlog from which a sync reports its progress.
const progressMin = 512

// progressTracker follows the sync under way (syncs are serialised by d.mu).
type progressTracker struct {
	mu     sync.Mutex
	cur    SyncProgress
	active bool
	f      func(SyncProgress)
}

func (p *progressTracker) begin(log string, total int64) {
	if total < progressMin {
		return
	}
	p.mu.Lock()
	p.cur, p.active = SyncProgress{Log: log, Total: total, Started: time.Now()}, true
	f, cur := p.f, p.cur
	p.mu.Unlock()
	if f != nil {
		f(cur)
	}
}

func (p *progressTracker) add(log string, n int64) {
	p.mu.Lock()
	if !p.active || p.cur.Log != log {
		p.mu.Unlock()
		return
	}
	p.cur.Done += n
	f, cur := p.f, p.cur
	p.mu.Unlock()
	if f != nil {
		f(cur)
	}
}

func (p *progressTracker) end() {
	p.mu.Lock()
	p.active = false
	p.mu.Unlock()
}

// OnSyncProgress sets a function told of the progress of every sync with a
// backlog of more than a few hundred entries (nil: none). It is called from
// the syncing goroutine, after each batch of entries is stored.
func (d *Desk) OnSyncProgress(f func(SyncProgress)) {
	d.progress.mu.Lock()
	d.progress.f = f
	d.progress.mu.Unlock()
}

// SyncProgress returns the progress of the sync under way, if it has a
// backlog of more than a few hundred entries.
func (d *Desk) SyncProgress() (SyncProgress, bool) {
	d.progress.mu.Lock()
	defer d.progress.mu.Unlock()
	return d.progress.cur, d.progress.active
}
