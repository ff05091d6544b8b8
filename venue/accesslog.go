package venue

// The access log: one line per request, in hourly files under
// <data>/access/, kept for Config.AccessLogRetention (default 24 hours;
// `goodoffices venue --access-log-retention`) and then deleted.
//
// It is for running the venue (error rates, slow routes), not for watching
// the parties, so a line holds only what that needs:
//
//	{"t":"2026-12-03T16:04Z","route":"POST /logs/{log}/entries","status":201,"ms":3}
//
// the time to the minute, the route pattern (never the path: no channel
// ID, device ID, mail or feed token), the status and the duration in
// milliseconds. No client address, no credential, no device or
// delegation, no channel, no sizes, no User-Agent. docs/metadata.md lists
// these fields; a test fails when a line holds any other.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAccessLogRetention is how long access-log lines are kept when
// Config.AccessLogRetention is 0.
const DefaultAccessLogRetention = 24 * time.Hour

// AccessLogDir is the directory of the access log in the data directory.
const AccessLogDir = "access"

// accessLogFileLayout names an hour's file (UTC): 20261203T16.log.
const accessLogFileLayout = "20060102T15"

// AccessLine is one line of the access log: everything it records.
type AccessLine struct {
	Time   string `json:"t"`      // UTC, to the minute: 2006-01-02T15:04Z
	Route  string `json:"route"`  // the route pattern, "-" when none matched
	Status int    `json:"status"` // the HTTP status
	Millis int64  `json:"ms"`     // duration in milliseconds
}

// accessLog writes AccessLines to hourly files and deletes the files past
// its retention.
type accessLog struct {
	dir       string
	retention time.Duration
	now       func() time.Time

	mu      sync.Mutex
	hour    string // the hour of f
	hourN   int64  // the hour of f, in hours since 1970
	minute  string // the formatted minute of the last line
	minuteN int64  // and that minute, in minutes since 1970
	line    []byte // the last line's buffer
	f       *os.File
	w       *bufio.Writer
}

// openAccessLog opens the access log in dir, deleting files older than
// retention.
func openAccessLog(dir string, retention time.Duration) (*accessLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the access log directory: %w", err)
	}
	a := &accessLog{dir: dir, retention: retention, now: time.Now}
	if err := a.prune(); err != nil {
		return nil, err
	}
	return a, nil
}

// record appends one line. It is on every request's path, so it formats
// the line itself (what encoding/json would write for an AccessLine) and
// formats the minute and the hour only when they change.
func (a *accessLog) record(start time.Time, route string, status int) error {
	now := a.now().UTC()
	ms := now.Sub(start).Milliseconds()
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := now.Unix() / 3600; h != a.hourN || a.f == nil {
		if err := a.rotate(now.Format(accessLogFileLayout)); err != nil {
			return err
		}
		a.hourN = h
	}
	if m := start.Unix() / 60; m != a.minuteN || a.minute == "" {
		a.minute, a.minuteN = start.UTC().Format("2006-01-02T15:04Z"), m
	}
	b := append(a.line[:0], `{"t":"`...)
	b = append(b, a.minute...)
	b = append(b, `","route":`...)
	b = appendJSONString(b, route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"ms":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, "}\n"...)
	a.line = b
	_, err := a.w.Write(b)
	return err
}

// appendJSONString appends s as a JSON string. Routes are patterns from
// the venue's own code, printable ASCII: those are written as they are,
// anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// rotate closes the current file, prunes, and opens hour's file.
// a.mu is held.
func (a *accessLog) rotate(hour string) error {
	err := a.closeFile()
	f, ferr := os.OpenFile(filepath.Join(a.dir, hour+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if ferr != nil {
		return errors.Join(err, fmt.Errorf("failed to open the access log: %w", ferr))
	}
	a.hour, a.f, a.w = hour, f, bufio.NewWriter(f)
	return errors.Join(err, a.prune())
}

// closeFile flushes and closes the current file. a.mu is held.
func (a *accessLog) closeFile() error {
	if a.f == nil {
		return nil
	}
	err := errors.Join(a.w.Flush(), a.f.Close())
	a.f, a.w, a.hour = nil, nil, ""
	return err
}

// flush writes buffered lines to the file.
func (a *accessLog) flush() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.w == nil {
		return nil
	}
	return a.w.Flush()
}

// prune deletes the files of hours that ended more than retention ago.
func (a *accessLog) prune() error {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return fmt.Errorf("failed to read the access log directory: %w", err)
	}
	cutoff := a.now().Add(-a.retention)
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		hour, err := time.Parse(accessLogFileLayout, name)
		if err != nil || hour.Add(time.Hour).After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(a.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close flushes and closes the log.
func (a *accessLog) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closeFile()
}

// maintainAccessLog flushes the access log every second and prunes it
// every minute, until shutdown.
func (v *Venue) maintainAccessLog() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-v.shutdown:
			return
		case <-t.C:
		}
		err := v.access.flush()
		if n%60 == 0 {
			err = errors.Join(err, v.access.prune())
		}
		if err != nil {
			v.log.Warn("access log", "err", err)
		}
	}
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush serves event streams (http.Flusher).
func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap serves http.ResponseController (read deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logAccess wraps h with the access log, when there is one.
func (v *Venue) logAccess(h http.Handler) http.Handler {
	if v.access == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern // set by the ServeMux on this request
			if route == "" || route == "/" {
				route = "-"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if err := v.access.record(start, route, status); err != nil {
				v.log.Warn("access log", "err", err)
			}
		}()
		h.ServeHTTP(sw, r)
	})
}
