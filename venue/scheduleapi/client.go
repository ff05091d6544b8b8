package scheduleapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/schedule"
)

// Client calls the schedule API of a venue, as the host (admin credential)
// or as a desk (device token).
type Client struct {
	BaseURL string // e.g. "http://127.0.0.1:8470"
	Token   string // sent as "Authorization: Bearer <Token>"
	HTTP    *http.Client
}

// APIError is an error answer of the API.
type APIError struct {
	Status    int
	Message   string
	Conflicts []schedule.Conflict
	Missing   []string
}

func (e *APIError) Error() string { return e.Message }

const maxResponse = 16 << 20

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("failed to encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("failed to build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("failed to reach the venue: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("failed to read the venue's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("venue answered %s", resp.Status)
		}
		return &APIError{Status: resp.StatusCode, Message: eb.Error, Conflicts: eb.Conflicts, Missing: eb.Missing}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("failed to decode the venue's answer: %w", err)
		}
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// Zone returns the venue's time zone.
func (c *Client) Zone(ctx context.Context) (Zone, error) {
	var out Zone
	return out, c.do(ctx, http.MethodGet, "/v1/schedule/zone", nil, &out)
}

// SetZone changes the venue's time zone (host).
func (c *Client) SetZone(ctx context.Context, zone string) (Zone, error) {
	var out Zone
	return out, c.do(ctx, http.MethodPut, "/v1/schedule/zone", Zone{Zone: zone}, &out)
}

// Rooms lists the venue's rooms.
func (c *Client) Rooms(ctx context.Context) ([]schedule.Room, error) {
	var out []schedule.Room
	return out, c.do(ctx, http.MethodGet, "/v1/schedule/rooms", nil, &out)
}

// AddRoom adds a room.
func (c *Client) AddRoom(ctx context.Context, r schedule.Room) (schedule.Room, error) {
	var out schedule.Room
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/rooms", RoomRequest{Room: r}, &out)
}

// UpdateRoom replaces a room.
func (c *Client) UpdateRoom(ctx context.Context, r schedule.Room, override []schedule.ConflictKind) (schedule.Room, error) {
	var out schedule.Room
	return out, c.do(ctx, http.MethodPut, "/v1/schedule/rooms/"+esc(r.Name), RoomRequest{Room: r, Override: override}, &out)
}

// RemoveRoom removes a room no active meeting uses.
func (c *Client) RemoveRoom(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/schedule/rooms/"+esc(name), nil, nil)
}

// Meetings lists meetings (the host: all; a desk: its delegation's), with
// times also in zone if not empty.
func (c *Client) Meetings(ctx context.Context, zone string) ([]MeetingView, error) {
	var out []MeetingView
	q := ""
	if zone != "" {
		q = "?zone=" + url.QueryEscape(zone)
	}
	return out, c.do(ctx, http.MethodGet, "/v1/schedule/meetings"+q, nil, &out)
}

// Meeting returns one meeting.
func (c *Client) Meeting(ctx context.Context, id, zone string) (MeetingView, error) {
	var out MeetingView
	q := ""
	if zone != "" {
		q = "?zone=" + url.QueryEscape(zone)
	}
	return out, c.do(ctx, http.MethodGet, "/v1/schedule/meetings/"+esc(id)+q, nil, &out)
}

// Propose proposes a meeting.
func (c *Client) Propose(ctx context.Context, req MeetingRequest) (MeetingView, error) {
	var out MeetingView
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/meetings", req, &out)
}

// Check returns the conflicts a meeting would have, changing nothing.
func (c *Client) Check(ctx context.Context, req MeetingRequest) ([]schedule.Conflict, error) {
	var out struct {
		Conflicts []schedule.Conflict `json:"conflicts"`
	}
	return out.Conflicts, c.do(ctx, http.MethodPost, "/v1/schedule/check", req, &out)
}

// Update replaces a meeting's fields.
func (c *Client) Update(ctx context.Context, id string, req MeetingRequest) (MeetingView, error) {
	var out MeetingView
	return out, c.do(ctx, http.MethodPut, "/v1/schedule/meetings/"+esc(id), req, &out)
}

// Move moves a meeting.
func (c *Client) Move(ctx context.Context, id string, req MoveRequest) (MeetingView, error) {
	var out MeetingView
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/meetings/"+esc(id)+"/move", req, &out)
}

// Confirm confirms a meeting.
func (c *Client) Confirm(ctx context.Context, id string, req ActionRequest) (MeetingView, error) {
	var out MeetingView
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/meetings/"+esc(id)+"/confirm", req, &out)
}

// Cancel cancels a meeting.
func (c *Client) Cancel(ctx context.Context, id string, req ActionRequest) (MeetingView, error) {
	var out MeetingView
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/meetings/"+esc(id)+"/cancel", req, &out)
}

// SignalReadiness sends a head's signed readiness statement (a desk call).
func (c *Client) SignalReadiness(ctx context.Context, id string, statement, sig []byte) (MeetingView, error) {
	var out MeetingView
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/meetings/"+esc(id)+"/readiness", ReadinessRequest{Statement: statement, Signature: sig}, &out)
}

// CreateFeed creates a calendar feed and returns its secret URL path.
func (c *Client) CreateFeed(ctx context.Context, req FeedRequest) (FeedCreated, error) {
	var out FeedCreated
	return out, c.do(ctx, http.MethodPost, "/v1/schedule/feeds", req, &out)
}

// Feeds lists feeds (without their tokens).
func (c *Client) Feeds(ctx context.Context) ([]FeedRecord, error) {
	var out []FeedRecord
	return out, c.do(ctx, http.MethodGet, "/v1/schedule/feeds", nil, &out)
}

// RevokeFeed revokes a feed: its URL stops working at once.
func (c *Client) RevokeFeed(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/schedule/feeds/"+esc(id), nil, nil)
}

// SignalReady is what a head's desk calls: it signs a readiness statement
// for meeting m with the head's device key (the key the venue knows from the
// head's certificate) and sends it. now is the signing time.
func (c *Client) SignalReady(ctx context.Context, key ed25519.PrivateKey, m schedule.Meeting, delegation string, now time.Time) (MeetingView, error) {
	st, sig, err := schedule.SignReadiness(key, schedule.Readiness{Talks: m.Talks, Meeting: m.ID, Level: m.Level, Delegation: delegation, Time: now})
	if err != nil {
		return MeetingView{}, err
	}
	return c.SignalReadiness(ctx, m.ID, st, sig)
}

// WaitChanges waits up to wait (at most MaxWait) until the meetings the
// caller sees differ from etag ("" for the first call), and returns them.
// A desk loops on it to be told of every change to its meetings.
func (c *Client) WaitChanges(ctx context.Context, etag string, wait time.Duration, zone string) (Changes, error) {
	var out Changes
	q := url.Values{}
	q.Set("etag", etag)
	q.Set("wait", strconv.Itoa(int(wait/time.Second)))
	if zone != "" {
		q.Set("zone", zone)
	}
	return out, c.do(ctx, http.MethodGet, "/v1/schedule/changes?"+q.Encode(), nil, &out)
}
