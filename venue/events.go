package venue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A hub wakes the event streams of devices when logs they follow grow,
// when their mailbox gets mail, when a party cosigns a checkpoint of a log
// they follow, or when channel membership changes. It carries no data: each
// stream reads what is new from the store, so a slow or reconnecting stream
// can never miss or duplicate anything.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	device     string
	delegation string
	notAfter   time.Time     // the device certificate's expiry: the stream ends then
	wake       chan struct{} // buffered 1: coalesces wake-ups
	refresh    atomic.Bool   // channel membership may have changed
	mu         sync.Mutex
	logs       map[string]bool
	cosigned   map[string]bool // logs whose cosignature queue may have grown
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) add(s *subscriber) {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) count(device string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs {
		if s.device == device {
			n++
		}
	}
	return n
}

func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// logsChanged wakes the streams that follow any of logs.
func (h *hub) logsChanged(logs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		hit := false
		for _, l := range logs {
			if s.logs[l] {
				hit = true
				break
			}
		}
		s.mu.Unlock()
		if hit {
			s.poke()
		}
	}
}

// cosignedLog wakes the streams that follow log to deliver its new
// cosignatures.
func (h *hub) cosignedLog(log string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		hit := s.logs[log]
		if hit {
			s.cosigned[log] = true
		}
		s.mu.Unlock()
		if hit {
			s.poke()
		}
	}
}

// markCosigned makes the next delivery read the cosignature queue of every
// log s follows.
func (s *subscriber) markCosigned() {
	s.mu.Lock()
	for l := range s.logs {
		s.cosigned[l] = true
	}
	s.mu.Unlock()
}

// takeCosigned returns the logs whose cosignature queue must be read, and
// forgets them: a cosignature stored after this call wakes the stream again.
func (s *subscriber) takeCosigned() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.cosigned
	s.cosigned = map[string]bool{}
	return out
}

// mailArrived wakes the streams of device. The cosignature queue of a log
// (cosign.go) is a mailbox too: mail for it, which is how another node
// reports a cosignature (PeerChanged), wakes the streams that follow the log.
func (h *hub) mailArrived(device string) {
	if log, ok := strings.CutPrefix(device, cosignQueuePrefix); ok {
		h.cosignedLog(log)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.device == device {
			s.poke()
		}
	}
}

// revocationsChanged wakes every stream, which then checks that its device
// is still valid (see Venue.streamValid) and ends if it is not.
func (h *hub) revocationsChanged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.poke()
	}
}

// channelsChanged makes every stream re-read its channel list.
func (h *hub) channelsChanged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.refresh.Store(true)
		s.poke()
	}
}

// A cursor is a stream position: for each log, the index of the next entry
// to deliver and the ID of the last cosignature record delivered, and the ID
// of the last mail delivered. On the wire (the SSE event ID, sent back as
// Last-Event-ID) it is
//
//	v1;<log>=<next index>;...;~cosign/<log>=<last record ID>;...;~mail=<last mail ID>
//
// with logs in sorted order; a log whose cosignature position is 0 has no
// ~cosign/ part (so cursors of streams without cosignatures are unchanged).
type cursor struct {
	logs   map[string]int64
	cosign map[string]int64
	mail   int64
}

func (c cursor) String() string {
	var b strings.Builder
	b.WriteString("v1")
	keys := make([]string, 0, len(c.logs))
	for k := range c.logs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ";%s=%d", k, c.logs[k])
	}
	for _, k := range keys {
		if n := c.cosign[k]; n > 0 {
			fmt.Fprintf(&b, ";%s%s=%d", cosignQueuePrefix, k, n)
		}
	}
	fmt.Fprintf(&b, ";~mail=%d", c.mail)
	return b.String()
}

// maxCursor bounds a cursor's length.
const maxCursor = 16 << 10

func parseCursor(s string) (cursor, error) {
	c := cursor{logs: map[string]int64{}, cosign: map[string]int64{}}
	if len(s) > maxCursor {
		return c, errors.New("cursor too long")
	}
	parts := strings.Split(s, ";")
	if parts[0] != "v1" {
		return c, errors.New("malformed cursor")
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || n < 0 {
			return c, errors.New("malformed cursor")
		}
		if k == "~mail" {
			c.mail = n
			continue
		}
		if l, ok := strings.CutPrefix(k, cosignQueuePrefix); ok {
			if !validChannelID(l) && !publicLog(l) {
				return c, errors.New("malformed cursor")
			}
			c.cosign[l] = n
			continue
		}
		if !validChannelID(k) && !publicLog(k) {
			return c, errors.New("malformed cursor")
		}
		c.logs[k] = n
	}
	return c, nil
}

// An EntryEvent is the data of an SSE "entry" event.
type EntryEvent struct {
	Log   string `json:"log"`
	Index int64  `json:"index"`
	Entry []byte `json:"entry"` // base64 in JSON
}

// A CosignEvent is the data of an SSE "cosign" event: a party's device
// cosigned the checkpoint of size Size of Log (fetch it, with the others,
// from GET /logs/{log}/cosignatures). There is one event per cosignature
// the venue stored; a cosignature superseded by a later one of the same
// cosigner before the stream reached it may be skipped.
type CosignEvent struct {
	Log      string `json:"log"`
	Size     int64  `json:"size"`
	Cosigner string `json:"cosigner"` // CosignerName
}

// A MailEvent is the data of an SSE "mail" event.
type MailEvent struct {
	ID      int64     `json:"id"`
	Data    []byte    `json:"data"`
	Created time.Time `json:"created"`
}

// handleEvents streams new entries and new cosignatures of every channel of
// the device's delegation and the device's mail as server-sent events.
func (v *Venue) handleEvents(w http.ResponseWriter, r *http.Request, p principal) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	if v.hub.count(p.device) >= v.cfg.MaxStreams {
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many event streams for this device (limit %d)", v.cfg.MaxStreams))
		return
	}
	ctx := r.Context()
	cur := cursor{logs: map[string]int64{}, cosign: map[string]int64{}}
	fresh := true
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("cursor")
	}
	if last != "" {
		c, err := parseCursor(last)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad Last-Event-ID: "+err.Error())
			return
		}
		cur, fresh = c, false
	}
	d, err := v.device(ctx, p.device)
	if err != nil {
		writeError(w, http.StatusUnauthorized, deviceRefusal(err))
		return
	}
	// A stream outlives the request that authenticated it: it must not be
	// cut by the read deadline of request bodies (guard).
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	sub := &subscriber{device: p.device, delegation: p.delegation, notAfter: d.notAfter, wake: make(chan struct{}, 1), logs: map[string]bool{}, cosigned: map[string]bool{}}
	v.hub.add(sub)
	defer v.hub.remove(sub)
	if err := v.refreshSubscription(ctx, sub, &cur, fresh); err != nil {
		writeError(w, http.StatusServiceUnavailable, "failed to read channels")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first event tells the client where it stands.
	fmt.Fprintf(w, "id: %s\nevent: ready\ndata: {}\n\n", cur)
	flusher.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	expiry := time.NewTimer(time.Until(sub.notAfter))
	defer expiry.Stop()
	for {
		if sub.refresh.Swap(false) {
			if err := v.refreshSubscription(ctx, sub, &cur, false); err != nil {
				return
			}
		}
		if err := v.deliver(ctx, w, sub, &cur); err != nil {
			if errors.Is(err, errStreamInvalid) {
				v.log.Info("event stream ended: device revoked or certificate expired", "device", p.device)
				return
			}
			if ctx.Err() == nil {
				v.log.Warn("event stream ended", "device", p.device, "err", err)
			}
			return
		}
		flusher.Flush()
		select {
		case <-ctx.Done():
			return
		case <-v.shutdown:
			return
		case <-sub.wake:
		case <-expiry.C:
			v.log.Info("event stream ended: device certificate expired", "device", p.device)
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
			// Notices of other nodes can be lost: look at every
			// cosignature queue now and then.
			sub.markCosigned()
		}
	}
}

// refreshSubscription sets the logs sub follows to the channels of its
// delegation and the public revocations log (so that a desk learns of a
// revocation as soon as it is logged, not at its next full sync). New logs
// start at the current size (and the current end of their cosignature
// queue) on a fresh stream and at 0 otherwise (a channel the delegation
// joined: all of it is new to it; the revocations log of a stream resumed
// from a cursor that lacks it: a desk reads all of it anyway). Every
// cosignature queue is read at the next delivery.
func (v *Venue) refreshSubscription(ctx context.Context, sub *subscriber, cur *cursor, fresh bool) error {
	chans, err := v.channelsOf(ctx, sub.delegation, sub.device)
	if err != nil {
		return err
	}
	logs := map[string]bool{}
	follow := []string{revocationsLog}
	for _, c := range chans {
		follow = append(follow, c.ID)
	}
	for _, l := range follow {
		logs[l] = true
		if _, ok := cur.logs[l]; !ok {
			start := int64(0)
			if fresh {
				if start, _, err = v.seq.size(ctx, l); err != nil {
					return err
				}
			}
			cur.logs[l] = start
			if fresh {
				_, _, last, err := v.readCosignatures(ctx, l, 0)
				if err != nil {
					return err
				}
				cur.cosign[l] = last
			}
		}
	}
	for l := range cur.logs {
		if !logs[l] {
			delete(cur.logs, l) // no longer a member: stop delivering
		}
	}
	for l := range cur.cosign {
		if !logs[l] {
			delete(cur.cosign, l)
		}
	}
	sub.mu.Lock()
	sub.logs = logs
	sub.mu.Unlock()
	sub.markCosigned()
	return nil
}

// errStreamInvalid ends the event stream of a revoked or expired device.
var errStreamInvalid = errors.New("device revoked or certificate expired")

// streamValid checks that sub's device may still receive events: its
// certificate has not expired and the revocations log, read now (from the
// store when it is shared with other nodes), does not revoke it.
func (v *Venue) streamValid(ctx context.Context, sub *subscriber) error {
	if !time.Now().Before(sub.notAfter) {
		return errStreamInvalid
	}
	revoked, err := v.revoked(ctx, sub.delegation, sub.device)
	if err != nil {
		return err
	}
	if revoked {
		return errStreamInvalid
	}
	return nil
}

// deliver writes everything new since cur and advances it. Each event
// carries the cursor after it as its ID.
//
// It reads the sizes of the logs first and checks the device's validity
// after that: an entry appended after a revocation was logged lies beyond
// sizes read after it, so it is never delivered to the revoked device.
func (v *Venue) deliver(ctx context.Context, w http.ResponseWriter, sub *subscriber, cur *cursor) error {
	names := make([]string, 0, len(cur.logs))
	for l := range cur.logs {
		names = append(names, l)
	}
	slices.Sort(names)
	sizes := make([]int64, len(names))
	for i, l := range names {
		size, _, err := v.seq.size(ctx, l)
		if err != nil {
			return err
		}
		sizes[i] = size
	}
	if err := v.streamValid(ctx, sub); err != nil {
		return err
	}
	for i, l := range names {
		size := sizes[i]
		for cur.logs[l] < size {
			start := cur.logs[l]
			end := min(size, start+256)
			entries := v.seq.recentEntries(l, start, end)
			if entries == nil {
				var err error
				if entries, err = v.store.ReadEntries(ctx, l, start, end); err != nil {
					return err
				}
			}
			for i, e := range entries {
				cur.logs[l] = start + int64(i) + 1
				data, _ := json.Marshal(EntryEvent{Log: l, Index: start + int64(i), Entry: e})
				if _, err := fmt.Fprintf(w, "id: %s\nevent: entry\ndata: %s\n\n", cur, data); err != nil {
					return err
				}
			}
		}
	}
	if err := v.deliverCosignatures(ctx, w, sub, cur); err != nil {
		return err
	}
	for {
		ms, err := v.store.Mail(ctx, sub.device, cur.mail, 64)
		if err != nil {
			return err
		}
		for _, m := range ms {
			cur.mail = m.ID
			data, _ := json.Marshal(MailEvent{ID: m.ID, Data: m.Data, Created: m.Created})
			if _, err := fmt.Fprintf(w, "id: %s\nevent: mail\ndata: %s\n\n", cur, data); err != nil {
				return err
			}
		}
		if len(ms) < 64 {
			return nil
		}
	}
}

// deliverCosignatures writes a "cosign" event for each cosignature stored
// since cur in the queues of the logs sub was told about, and advances cur.
//
// Records that compaction wrote again (cosign.go) carry the ID of the
// original: they are delivered only if the original was not. A queue is read
// to its end each time, so an original at or below the position where the
// reading starts was delivered by an earlier reading, or else that reading
// (which began after the copy was written, since compaction deletes only
// after writing the copies) delivered the copy and is past it; an original
// above it was delivered in this reading if it was seen in it.
func (v *Venue) deliverCosignatures(ctx context.Context, w http.ResponseWriter, sub *subscriber, cur *cursor) error {
	todo := sub.takeCosigned()
	names := make([]string, 0, len(todo))
	for l := range todo {
		if _, ok := cur.logs[l]; ok {
			names = append(names, l)
		}
	}
	slices.Sort(names)
	for _, l := range names {
		start, seen := cur.cosign[l], map[int64]bool{}
		for {
			ms, err := v.store.Mail(ctx, cosignQueuePrefix+l, cur.cosign[l], 64)
			if err != nil {
				sub.mu.Lock()
				sub.cosigned[l] = true
				sub.mu.Unlock()
				return err
			}
			for _, m := range ms {
				cur.cosign[l] = m.ID
				rec, ok := parseCosignRecord(m.Data)
				if !ok || (rec.orig > 0 && (rec.orig <= start || seen[rec.orig])) {
					continue
				}
				if rec.orig > 0 {
					seen[rec.orig] = true
				} else {
					seen[m.ID] = true
				}
				data, _ := json.Marshal(CosignEvent{Log: l, Size: rec.size, Cosigner: rec.name})
				if _, err := fmt.Fprintf(w, "id: %s\nevent: cosign\ndata: %s\n\n", cur, data); err != nil {
					return err
				}
			}
			if len(ms) < 64 {
				break
			}
		}
	}
	return nil
}
