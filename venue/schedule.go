package venue

// The host's good-offices services (package schedule) mounted on the venue:
// see package scheduleapi for the API. This file is the schedule
// engineer's; the venue exposes only Mount and Who for it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// Files of the schedule in the data directory.
const (
	ScheduleDBFile     = "schedule.db"   // rooms, meetings, feed subscriptions (SQLite)
	ScheduleConfigFile = "schedule.json" // optional: zone, opening hours, host delegation
)

// ScheduleConfig is the optional <data>/schedule.json:
//
//	{"zone": "Asia/Almaty", "open": "08:00", "close": "20:00",
//	 "days": ["Mon","Tue","Wed","Thu","Fri"], "host": "caspia",
//	 "db": "postgres://goodoffices@db.internal/goodoffices"}
//
// Every field may be left out: the zone defaults to Asia/Almaty (the
// goodoffices venue command passes the machine's zone instead, see
// [ScheduleOptions]), the hours to 08:00–20:00 every day, and the schedule
// lives in <data>/schedule.db. A zone set later by the host (PUT
// /v1/schedule/zone, 'goodoffices host zone set') or by 'venue --zone' is
// kept with the schedule and takes precedence over this file's.
// Venue nodes that share one PostgreSQL database ("db") share one schedule;
// every change is a compare-and-swap, so they cannot double-book.
type ScheduleConfig struct {
	Zone  string   `json:"zone,omitempty"`
	Open  string   `json:"open,omitempty"`
	Close string   `json:"close,omitempty"`
	Days  []string `json:"days,omitempty"`
	Host  string   `json:"host,omitempty"`
	DB    string   `json:"db,omitempty"`
}

var weekdays = map[string]time.Weekday{"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday,
	"Wed": time.Wednesday, "Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday}

// Schedule converts c to the schedule's configuration.
func (c ScheduleConfig) Schedule() (schedule.Config, error) {
	var sc schedule.Config
	zone := c.Zone
	if zone == "" {
		zone = schedule.DefaultZone
	}
	loc, err := schedule.LoadZone(zone)
	if err != nil {
		return sc, fmt.Errorf("failed to configure the schedule: unknown time zone %q", zone)
	}
	sc.Zone, sc.Host = loc, c.Host
	if c.Open != "" || c.Close != "" || len(c.Days) > 0 {
		sc.Hours = schedule.DefaultOpeningHours
		if c.Open != "" {
			if sc.Hours.Open, err = schedule.ParseClock(c.Open); err != nil {
				return sc, fmt.Errorf("failed to configure the schedule: open: %w", err)
			}
		}
		if c.Close != "" {
			if sc.Hours.Close, err = schedule.ParseClock(c.Close); err != nil {
				return sc, fmt.Errorf("failed to configure the schedule: close: %w", err)
			}
		}
		for _, d := range c.Days {
			wd, ok := weekdays[d]
			if !ok {
				return sc, fmt.Errorf("failed to configure the schedule: unknown weekday %q (use Mon, Tue, …)", d)
			}
			sc.Hours.Days = append(sc.Hours.Days, wd)
		}
	}
	if _, err := schedule.New(sc); err != nil {
		return sc, fmt.Errorf("failed to configure the schedule: %w", err)
	}
	return sc, nil
}

// LoadScheduleConfig reads <dir>/schedule.json; a missing file gives the
// defaults.
func LoadScheduleConfig(dir string) (schedule.Config, error) {
	c, err := readScheduleConfig(dir)
	if err != nil {
		return schedule.Config{}, err
	}
	return c.Schedule()
}

func readScheduleConfig(dir string) (ScheduleConfig, error) {
	var c ScheduleConfig
	data, err := os.ReadFile(filepath.Join(dir, ScheduleConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("failed to read %s: %w", ScheduleConfigFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("failed to parse %s: %w", ScheduleConfigFile, err)
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return c, fmt.Errorf("failed to parse %s: db must be a postgres:// URL", ScheduleConfigFile)
	}
	return c, nil
}

// MountSchedule opens the schedule's database in the data directory
// (schedule.db, tables of its own, or the PostgreSQL database named in
// schedule.json), reads schedule.json, and mounts the
// schedule API on the venue: host endpoints under /v1/schedule/ (admin
// credential), the readiness endpoint for heads' desks (device token; the
// venue's certificate check gives the head's role and key), and the calendar
// feeds under /v1/calendar/. Call it before Handler; close the returned
// store after the server stopped. It uses only the venue's exported API
// (Mount, Who, Name, AdminFile).
func (v *Venue) MountSchedule(ctx context.Context, logger *slog.Logger) (io.Closer, error) {
	c, _, err := v.MountScheduleWith(ctx, logger, ScheduleOptions{})
	return c, err
}

// ScheduleOptions are what the venue's command line says of the schedule.
type ScheduleOptions struct {
	// Zone, if not empty, is the venue's IANA time zone from now on: it is
	// stored with the schedule as if the host had set it (PUT
	// /v1/schedule/zone) and replaces any zone set before.
	Zone string
	// DefaultZone is the zone of a venue whose schedule has no zone set
	// and whose schedule.json names none; empty means
	// schedule.DefaultZone.
	DefaultZone string
}

// MountScheduleWith is MountSchedule with the command line's options; it
// also returns the venue's time zone in force.
func (v *Venue) MountScheduleWith(ctx context.Context, logger *slog.Logger, o ScheduleOptions) (io.Closer, string, error) {
	dir := filepath.Dir(v.AdminFile())
	sc, err := readScheduleConfig(dir)
	if err != nil {
		return nil, "", err
	}
	if sc.Zone == "" {
		sc.Zone = o.DefaultZone
	}
	cfg, err := sc.Schedule()
	if err != nil {
		return nil, "", err
	}
	if o.Zone != "" {
		if _, err := schedule.LoadZone(o.Zone); err != nil {
			return nil, "", fmt.Errorf("failed to configure the schedule: %w", err)
		}
	}
	var st *scheduleapi.SQLStore
	if sc.DB != "" {
		st, err = scheduleapi.OpenPostgres(ctx, sc.DB)
	} else {
		st, err = scheduleapi.OpenSQLite(ctx, filepath.Join(dir, ScheduleDBFile))
	}
	if err != nil {
		return nil, "", err
	}
	svc, err := scheduleapi.New(scheduleapi.Config{
		Schedule: cfg,
		Store:    st,
		Domain:   v.Name(),
		Logger:   logger,
		// A meeting's booked interpreters may use its channel's log.
		LinkInterpreters: v.LinkInterpreters,
		Authenticate: func(r *http.Request) (scheduleapi.Caller, error) {
			c, err := v.Who(r)
			if err != nil {
				return scheduleapi.Caller{}, err
			}
			return scheduleapi.Caller{Host: c.Admin, Delegation: c.Delegation, Person: c.Person, Role: c.Role, Key: c.Key}, nil
		},
	})
	if err != nil {
		st.Close()
		return nil, "", err
	}
	var z scheduleapi.Zone
	if o.Zone != "" {
		z, err = svc.SetZone(ctx, o.Zone)
	} else {
		z, err = svc.CurrentZone(ctx)
	}
	if err != nil {
		st.Close()
		return nil, "", fmt.Errorf("failed to set the venue's time zone: %w", err)
	}
	svc.MountOn(v.Mount)
	return st, z.Zone, nil
}
