package scheduleapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/schedule"
)

// memStore is a Store in memory, for fuzzing the handlers quickly; the
// tests of the service itself run on SQLite and PostgreSQL.
type memStore struct {
	mu    sync.Mutex
	data  []byte
	ver   int64
	feeds []FeedRecord
}

func (m *memStore) LoadSchedule(context.Context) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.data), m.ver, nil
}

func (m *memStore) SaveSchedule(_ context.Context, data []byte, old int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old != m.ver {
		return ErrConflict
	}
	m.data, m.ver = bytes.Clone(data), m.ver+1
	return nil
}

func (m *memStore) PutFeed(_ context.Context, f FeedRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.feeds = append(m.feeds, f)
	return nil
}

func (m *memStore) FeedByToken(_ context.Context, h []byte) (FeedRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.feeds {
		if bytes.Equal(f.TokenHash, h) {
			return f, nil
		}
	}
	return FeedRecord{}, ErrNotFound
}

func (m *memStore) Feeds(context.Context) ([]FeedRecord, error) { return nil, nil }

func (m *memStore) RevokeFeed(context.Context, string, time.Time) error { return ErrNotFound }

// FuzzMeetingAPI sends arbitrary bodies to the host's meeting endpoints:
// the service never fails with a 5xx, answers JSON, and whatever it accepts
// leaves a schedule that restores cleanly and has no unoverridden room
// double booking.
func FuzzMeetingAPI(f *testing.F) {
	seed, _ := json.Marshal(MeetingRequest{MeetingSpec: schedule.MeetingSpec{
		Title: "Working group 1", Talks: "caspia-talks", Level: schedule.LevelExpert, Room: "Room A",
		Start:     schedule.LocalTime{Year: 2026, Month: 11, Day: 23, Hour: 9, Minute: 30},
		End:       schedule.LocalTime{Year: 2026, Month: 11, Day: 23, Hour: 12, Minute: 30},
		Languages: []string{"en", "ru"}, Interpretation: "consecutive", Delegations: []string{"arden", "borealia"}, Headcount: 10,
	}})
	f.Add(seed, uint8(0))
	f.Add(seed, uint8(1))
	f.Add([]byte(`{"room":"Room A","start":"2026-03-29T02:30","end":"2026-03-29T03:30","override":["capacity"]}`), uint8(0))
	f.Add([]byte(`{"start":"2026-11-23T09:30","end":"2026-11-23T12:30"}`), uint8(2))
	f.Add([]byte(`{"override":["room-booked"],"note":"x"}`), uint8(3))
	almaty, _ := time.LoadLocation("Asia/Almaty")
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		st := &memStore{}
		svc, err := New(Config{Schedule: schedule.Config{Zone: almaty}, Store: st, Authenticate: func(*http.Request) (Caller, error) {
			return Caller{Host: true}, nil
		}, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		h := svc.Handler()
		do := func(method, path string, b []byte) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(method, path, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s %q: HTTP %d %s", method, path, b, rec.Code, rec.Body.Bytes())
			}
			return rec
		}
		do("POST", "/v1/schedule/rooms", []byte(`{"name":"Room A","capacity":20}`))
		do("POST", "/v1/schedule/meetings", append(seed[:len(seed)-1:len(seed)-1], []byte(`,"id":"m-first"}`)...))
		switch which % 4 {
		case 0:
			do("POST", "/v1/schedule/meetings", body)
		case 1:
			do("PUT", "/v1/schedule/meetings/m-first", body)
		case 2:
			do("POST", "/v1/schedule/meetings/m-first/move", body)
		case 3:
			do("POST", "/v1/schedule/meetings/m-first/confirm", body)
		}
		do("POST", "/v1/schedule/check", body)
		var state schedule.State
		if err := json.Unmarshal(st.data, &state); err != nil {
			t.Fatal(err)
		}
		sc, err := schedule.Restore(schedule.Config{Zone: almaty}, state)
		if err != nil {
			t.Fatalf("saved schedule does not restore: %v", err)
		}
		ms := sc.Meetings()
		for i, a := range ms {
			for _, b := range ms[i+1:] {
				if a.Status.Active() && b.Status.Active() && a.Room == b.Room && a.Start.Before(b.End) && b.Start.Before(a.End) &&
					len(a.Overrides) == 0 && len(b.Overrides) == 0 {
					t.Fatalf("room double-booked without override: %+v %+v", a, b)
				}
			}
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
