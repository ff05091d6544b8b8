package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/client"
)

// A SyncResult reports one sync of every log.
type SyncResult struct {
	// Errors holds, per log, why it could not be brought up to date
	// (the venue unreachable, entries blocked, an alarm).
	Errors map[string]error
	// Alarms lists the logs halted by an alarm, this time or before.
	Alarms []*Alarm
}

// Err returns the first alarm, else nil: a sync in which only some logs
// could not be reached is not a failure of the others.
func (r *SyncResult) Err() error {
	if len(r.Alarms) > 0 {
		return r.Alarms[0]
	}
	return nil
}

// Sync verifies and processes the register and every channel the venue
// lists for this delegation. A failure on one log does not stop the others.
func (d *Desk) Sync(ctx context.Context) (*SyncResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.syncLocked(ctx)
}

func (d *Desk) syncLocked(ctx context.Context) (*SyncResult, error) {
	if d.venue == nil || d.cert == nil {
		return nil, ErrNotEnrolled
	}
	res := &SyncResult{Errors: map[string]error{}}
	note := func(log string, err error) {
		if err == nil {
			return
		}
		res.Errors[log] = err
		var a *Alarm
		if errors.As(err, &a) {
			res.Alarms = append(res.Alarms, a)
		}
	}
	note(RegisterLog, d.syncLogLocked(ctx, RegisterLog))
	note(RevocationsLog, d.syncLogLocked(ctx, RevocationsLog)) // after the register: its roots verify it
	chans, err := d.api.channels(ctx)
	if err != nil {
		return res, fmt.Errorf("failed to list channels: %w", err)
	}
	if err := d.rememberChannels(ctx, chans); err != nil {
		return res, err
	}
	for _, c := range chans {
		if d.isRecovered(ctx, c.ID) {
			continue // continued in a fresh channel (recover.go); its alarm is dealt with
		}
		note(c.ID, d.syncLogLocked(ctx, c.ID))
	}
	note("recoveries", d.checkRecoveriesLocked(ctx))
	note("recoveries", d.catchUpCarriedLocked(ctx))
	if err := d.markRevokedLocked(ctx); err != nil {
		res.Errors[RevocationsLog] = err
	}
	// An alarm raised by the housekeeping (a substituted key package, a
	// rogue interpreter) is an alarm like any other.
	note("mls", d.afterSyncLocked(ctx))
	note(handoverAlarm, d.applyHandovers(ctx))
	// A hand-over may bring a recovery notice sent before this desk joined.
	note("recoveries", d.checkRecoveriesLocked(ctx))
	note("recoveries", d.catchUpCarriedLocked(ctx))
	return res, nil
}

// SyncLog verifies and processes one log.
func (d *Desk) SyncLog(ctx context.Context, log string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.syncLogLocked(ctx, log)
}

const prefChan = "chan/"

// ChannelInfo is a channel as the venue describes it (metadata the venue
// knows) with the desk's verified state of its log.
type ChannelInfo struct {
	client.Channel
	State LogState `json:"state"`
}

func (d *Desk) rememberChannels(ctx context.Context, chans []client.Channel) error {
	return d.store.Update(ctx, func(tx *Tx) error {
		for _, c := range chans {
			b, err := jsonMarshal(c)
			if err != nil {
				return err
			}
			if err := tx.Put(ctx, prefChan+c.ID, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Channels returns the channels the desk knows of, with their log state.
func (d *Desk) Channels(ctx context.Context) ([]ChannelInfo, error) {
	kvs, err := d.store.List(ctx, prefChan, 0)
	if err != nil {
		return nil, err
	}
	var out []ChannelInfo
	for _, kv := range kvs {
		var c ChannelInfo
		if err := jsonUnmarshal(kv.Value, &c.Channel); err != nil {
			return nil, err
		}
		st, err := d.logState(ctx, d.store, c.ID)
		if err != nil {
			return nil, err
		}
		c.State = st
		out = append(out, c)
	}
	return out, nil
}

// Status is the desk at a glance.
type Status struct {
	Device      string     `json:"device"`
	Profile     Profile    `json:"profile"`
	Enrolled    bool       `json:"enrolled"`
	Venue       *VenueInfo `json:"venue,omitempty"`
	Logs        []LogState `json:"logs"`
	Parties     []Party    `json:"parties"`
	Alarms      []Alarm    `json:"alarms"`
	KeyPackages int        `json:"key_packages_on_venue"` // -1 if unknown
	// Confirmations: per log, which entries every member delegation has cosigned (cosign_confirm.go).
	Confirmations []Confirmation `json:"confirmations"`
	// Recovered: the channels continued in fresh ones after an alarm (recover.go).
	Recovered []Recovered `json:"recovered,omitempty"`
	// Continued: the fresh channels whose talks continue those of old ones,
	// by this desk's recovery or by a notice it verified (recover.go).
	Continued []Continued `json:"continued,omitempty"`
}

// Halted returns the alarms that currently halt a log.
func (s *Status) Halted() []*Alarm {
	var out []*Alarm
	for _, l := range s.Logs {
		if l.Alarm != nil {
			out = append(out, l.Alarm)
		}
	}
	return out
}

// Status reports the desk's state from its store, without contacting the
// venue.
func (d *Desk) Status(ctx context.Context) (*Status, error) {
	s := &Status{Device: d.DeviceID(), Profile: d.profile, Enrolled: d.cert != nil, Venue: d.venue, KeyPackages: -1}
	var err error
	if s.Logs, err = d.Logs(ctx); err != nil {
		return nil, err
	}
	if s.Parties, err = d.Parties(ctx); err != nil {
		return nil, err
	}
	if s.Alarms, err = d.Alarms(ctx); err != nil {
		return nil, err
	}
	if s.Confirmations, err = d.Confirmations(ctx); err != nil {
		return nil, err
	}
	if s.Recovered, err = d.RecoveredChannels(ctx); err != nil {
		return nil, err
	}
	if s.Continued, err = d.ContinuedChannels(ctx); err != nil {
		return nil, err
	}
	if n, err := d.store.Get(ctx, keyKPCount); err == nil {
		fmt.Sscan(string(n), &s.KeyPackages)
	}
	return s, nil
}

// Run keeps the desk in sync until ctx ends: it listens to the venue's event
// stream and syncs the logs it names (verifying them before anything is
// processed), fetches the cosignatures of a log when the stream says that
// another party cosigned it (so entries are confirmed without waiting for a
// resync), and resyncs everything every interval and after a reconnect.
// onSync, if not nil, is called after every sync with the logs that moved.
func (d *Desk) Run(ctx context.Context, interval time.Duration, onSync func([]string)) error {
	if d.venue == nil || d.cert == nil {
		return ErrNotEnrolled
	}
	if interval <= 0 {
		interval = 30 * time.Second
	}
	d.live.Add(1)
	defer d.live.Add(-1)
	kick := make(chan string, 256)
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff := time.Second
		cursor := ""
		for streamCtx.Err() == nil {
			err := d.stream(streamCtx, &cursor, kick, func() { backoff = time.Second })
			if streamCtx.Err() != nil {
				return
			}
			d.log.Warn("event stream interrupted; reconnecting", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-streamCtx.Done():
				return
			}
			backoff = min(2*backoff, 30*time.Second)
			select {
			case kick <- "":
			default:
			}
		}
	}()
	defer func() { cancel(); <-done }()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	full := true
	for {
		var logs []string
		if full {
			before, _ := d.Logs(ctx)
			res, err := d.Sync(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Warn("sync failed", "err", err)
			}
			if res != nil {
				for log, e := range res.Errors {
					var a *Alarm
					if !errors.As(e, &a) {
						d.log.Warn("log not synced", "log", log, "err", e)
					}
				}
			}
			after, _ := d.Logs(ctx)
			logs = movedLogs(before, after)
		} else {
			// drain the kicks
			set := map[string]bool{}
		drain:
			for {
				select {
				case l := <-kick:
					set[l] = true
				default:
					break drain
				}
			}
			if set[""] {
				full = true
				continue
			}
			for l := range set {
				// Only the log: MLS housekeeping (key packages, mailbox,
				// group maintenance) runs with the full syncs, on mail
				// events and every interval.
				sync := d.syncLogLocked
				if log, ok := strings.CutPrefix(l, kickCosign); ok {
					if set[log] {
						continue // the log's sync fetches the cosignatures too
					}
					l, sync = log, d.refreshConfirmationLocked
				}
				d.mu.Lock()
				err := sync(ctx, l)
				d.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					d.log.Warn("log not synced", "log", l, "err", err)
				}
				logs = append(logs, l)
			}
			slices.Sort(logs)
		}
		full = false
		if onSync != nil && len(logs) > 0 {
			onSync(logs)
		}
		select {
		case <-ctx.Done():
			return nil
		case l := <-kick:
			select {
			case kick <- l:
			default:
			}
		case <-tick.C:
			full = true
		}
	}
}

// kickCosign prefixes a log on Run's kick channel when another party
// cosigned it: only its confirmation is refreshed.
const kickCosign = "\x00cosign/"

// stream delivers the logs named by the venue's events to kick until the
// stream breaks. The event's entry itself is not used: the log is synced,
// which verifies it first. A cosign event (of another cosigner than this
// desk) kicks the log's confirmation. An entry of the revocations log (or
// the register, which verifies it) kicks a full sync, which reads both and
// then marks what the revoked devices sent in every channel: a revocation
// takes effect as soon as it is logged, not at the next periodic sync.
func (d *Desk) stream(ctx context.Context, cursor *string, kick chan<- string, ok func()) error {
	sub, err := d.api.subscribe(ctx, *cursor)
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		ok()
		if ev.Cursor != "" {
			*cursor = ev.Cursor
		}
		l := ""
		switch ev.Type {
		case "entry":
			l = ev.Log
			if l == RevocationsLog || l == RegisterLog {
				l = "" // a full sync
			}
		case "cosign":
			if ev.Log == "" || ev.Cosigner == d.CosignerName() {
				continue
			}
			// Known already (fetched with others' since): nothing to do.
			if del, _, ok := api.ParseCosignerName(ev.Cosigner); ok {
				if c, err := d.confirmation(ctx, ev.Log); err == nil && c.Cosigned[del] >= ev.Size {
					continue
				}
			}
			l = kickCosign + ev.Log
		}
		select {
		case kick <- l:
		default:
		}
	}
}

func movedLogs(before, after []LogState) []string {
	m := map[string]LogState{}
	for _, s := range before {
		m[s.Log] = s
	}
	var out []string
	for _, s := range after {
		if b, ok := m[s.Log]; !ok || b.Next != s.Next || b.Size != s.Size || (b.Alarm == nil) != (s.Alarm == nil) {
			out = append(out, s.Log)
		}
	}
	return out
}
