// Package bench measures the venue's durable append throughput and latency
// over HTTP, and the same workload against NATS JetStream as a baseline.
//
// # Workload
//
// W writers (1, 16 and 128 by default) each hold their own device (a device
// key certified by a delegation root, registered and authenticated like a
// desk) and append fixed-size random entries, one at a time, waiting for
// each acknowledgement, to many channels in turn (writer i starts at channel
// i and moves to the next channel after each append). Against the venue
// each entry is framed as an MLS PrivateMessage (Frame, at most 45 bytes
// more), since the venue refuses anything else. An append counts when
// the venue answered 201 with its index, which it does only after the
// entry's group-commit transaction is durable. Latency is measured per
// append at the client, from the request to the answer. Writers make their
// HTTP/1.1 requests themselves (http1.go) unless VenueTarget.GoClient asks
// for the venue's Go client; a FloorServer answers the same writers
// without doing anything, to show what HTTP alone costs.
//
// The baseline runs the same writers against a JetStream stream with file
// storage on a nats-server started for the run with sync_interval: always,
// so that JetStream too syncs every write to disk before it acknowledges
// it; each writer publishes synchronously (waits for the PubAck) to the
// subject of its current channel.
package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/venue/api"
	"github.com/good-offices/goodoffices/venue/client"
)

// A Result is the outcome of one run with a given number of writers.
type Result struct {
	Writers  int
	Appends  int64         // acknowledged appends in the measured window
	Errors   int64         // failed appends (all kinds)
	Elapsed  time.Duration // the measured window
	P50, P99 time.Duration
	Max      time.Duration
}

// PerSecond returns the acknowledged appends per second.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Appends) / r.Elapsed.Seconds()
}

// A Writer appends one entry and returns when it is acknowledged.
type Writer interface {
	Append(ctx context.Context, channel int, entry []byte) error
}

// CloseWriters closes the connections of writers that hold their own
// (venue writers: their HTTP/1.1 connections and their Go clients' idle
// ones), so that one run's writers do not stay connected to the server
// through the next.
func CloseWriters(ws []Writer) {
	for _, w := range ws {
		if c, ok := w.(io.Closer); ok {
			c.Close()
		}
	}
}

// Load drives writers, each in its own goroutine, for warmup and then for
// duration, over channels channels, and measures the second part.
func Load(ctx context.Context, writers []Writer, channels, entrySize int, warmup, duration time.Duration) Result {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		lat       []time.Duration
		appends   int64
		errs      int64
	)
	for i, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entry := make([]byte, entrySize)
			// Entries need only differ, not be secret: a seeded ChaCha8
			// fills them without a system call, on CPUs the client
			// shares with the venue.
			var seed [32]byte
			rand.Read(seed[:])
			fill := mrand.NewChaCha8(seed)
			var mine []time.Duration
			var n, ne int64
			ch := i % channels
			for !stop.Load() && ctx.Err() == nil {
				fill.Read(entry)
				t0 := time.Now()
				err := w.Append(ctx, ch, entry)
				d := time.Since(t0)
				ch = (ch + 1) % channels
				if !measuring.Load() {
					continue
				}
				if err != nil {
					ne++
					// Do not spin on a failing target.
					time.Sleep(time.Millisecond)
					continue
				}
				n++
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			appends += n
			errs += ne
			mu.Unlock()
		}()
	}
	sleep(ctx, warmup)
	measuring.Store(true)
	start := time.Now()
	sleep(ctx, duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	// Appends that were in flight when measuring stopped and finished
	// later are not counted, nor their latencies: a fair cut at both ends.
	slices.Sort(lat)
	r := Result{Writers: len(writers), Appends: appends, Errors: errs, Elapsed: elapsed}
	if len(lat) > 0 {
		r.P50 = lat[len(lat)*50/100]
		r.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
		r.Max = lat[len(lat)-1]
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// PrintHeader writes the column heads of PrintResult.
func PrintHeader(w io.Writer) {
	fmt.Fprintf(w, "%8s %10s %12s %9s %9s %9s %7s\n", "writers", "appends", "appends/s", "p50", "p99", "max", "errors")
}

// PrintResult writes one line of results.
func PrintResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "%8d %10d %12.0f %9s %9s %9s %7d\n", r.Writers, r.Appends, r.PerSecond(),
		ms(r.P50), ms(r.P99), ms(r.Max), r.Errors)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// A VenueTarget is a venue prepared for the workload: one delegation, its
// channels, and authenticated devices.
type VenueTarget struct {
	URLs []string // the venue nodes; writers are spread over them
	// Batch is the number of entries each writer sends per request
	// (POST /logs/{log}/batch) when above 1; a Result then counts requests,
	// and the entries are Batch times its Appends.
	Batch int
	// AwaitCheckpoint makes each append wait until a signed checkpoint
	// covers it (Goodoffices-Await: checkpoint, as desks do); by default
	// an append counts when it is durable at its index.
	AwaitCheckpoint bool
	// GoClient makes the writers use the venue's Go client (package
	// venue/client, over net/http), as desks do, instead of making their
	// requests themselves over HTTP/1.1 (http1.go).
	GoClient bool
	Channels []string
	hc       *http.Client
	rootKey  *delegation.RootKey
	name     string
}

// NewHTTPClient returns an HTTP client for many concurrent writers to a few
// hosts: one kept-alive connection per writer.
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// UseH2C makes the writers created from now on speak HTTP/2 without TLS
// (h2c) to the venue: requests share connections instead of holding one
// each.
func (t *VenueTarget) UseH2C() {
	tr := &http.Transport{
		DialContext:     (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		IdleConnTimeout: 90 * time.Second,
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.hc = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t.GoClient = true
}

// PrepareVenue accredits a fresh delegation at the venue (with the admin
// credential) and creates nChannels channels for it.
func PrepareVenue(ctx context.Context, urls []string, admin string, nChannels int) (*VenueTarget, error) {
	if len(urls) == 0 {
		return nil, errors.New("no venue URL")
	}
	hc := NewHTTPClient()
	var rb [4]byte
	rand.Read(rb[:])
	name := "bench-" + hex.EncodeToString(rb[:])
	root, err := delegation.GenerateRoot(name)
	if err != nil {
		return nil, err
	}
	ac, err := client.New(urls[0], client.WithAdmin(admin), client.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	if _, err := ac.Accredit(ctx, name, root.VerifierKey()); err != nil {
		return nil, fmt.Errorf("failed to accredit the bench delegation: %w", err)
	}
	t := &VenueTarget{URLs: urls, hc: hc, rootKey: root, name: name}
	for i := range nChannels {
		id := fmt.Sprintf("%s-%d", name, i)
		if _, err := ac.CreateChannel(ctx, client.ChannelSpec{ID: id, Kind: "working-group", Level: "expert", Members: []string{name}}); err != nil {
			return nil, fmt.Errorf("failed to create channel: %w", err)
		}
		t.Channels = append(t.Channels, id)
	}
	return t, nil
}

// Routing of appends to venue nodes.
const (
	// RouteDevice sends all of a writer's appends to one node (writer i to
	// node i mod N), as a load balancer that spreads connections does: every
	// node appends to every channel.
	RouteDevice = "device"
	// RouteChannel sends the appends to a channel to one node (channel c to
	// node c mod N), as a load balancer that hashes the log ID in the path
	// /logs/{id}/entries does: one node sequences a channel at a time.
	RouteChannel = "channel"
)

// Writers returns n writers, each a registered device authenticated with
// every node, routing appends to the nodes as route says.
func (t *VenueTarget) Writers(ctx context.Context, n int, route string) ([]Writer, error) {
	out := make([]Writer, n)
	paths := t.paths() // shared: with 100,000 channels a copy per writer is megabytes
	for i := range n {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		cert, err := t.rootKey.Certify(&delegation.Certificate{
			Delegation: t.name, Person: fmt.Sprintf("writer-%d", i), Role: "expert", Level: "expert",
			Device: pub, NotBefore: now.Add(-time.Minute).Truncate(time.Second), NotAfter: now.Add(2 * time.Hour).Truncate(time.Second),
		})
		if err != nil {
			return nil, err
		}
		vw := &venueWriter{channels: t.Channels, batch: t.Batch, paths: paths}
		if route == RouteDevice {
			vw.home = i % len(t.URLs)
		} else {
			vw.home = -1
		}
		for j, u := range t.URLs {
			opts := []client.Option{client.WithDevice(priv), client.WithHTTPClient(t.hc)}
			if !t.AwaitCheckpoint {
				opts = append(opts, client.WithDurableAcks())
			}
			c, err := client.New(u, opts...)
			if err != nil {
				return nil, err
			}
			if j == 0 {
				if _, err := c.RegisterDevice(ctx, cert); err != nil {
					return nil, fmt.Errorf("failed to register device: %w", err)
				}
			}
			if err := authenticate(ctx, c); err != nil {
				return nil, fmt.Errorf("failed to authenticate device: %w", err)
			}
			vw.nodes = append(vw.nodes, c)
			if !t.GoClient {
				h, err := newHTTP1Conn(u, c, t.AwaitCheckpoint)
				if err != nil {
					return nil, err
				}
				vw.http1 = append(vw.http1, h)
			}
		}
		out[i] = vw
	}
	return out, nil
}

// authenticate retries for a few seconds: another node may not have seen
// the device's registration yet.
func authenticate(ctx context.Context, c *client.Client) error {
	var err error
	for range 50 {
		if err = c.Authenticate(ctx); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// paths returns the request paths of appends to each channel, in order:
// entries, batch.
func (t *VenueTarget) paths() [][2]string {
	ps := make([][2]string, len(t.Channels))
	for i, c := range t.Channels {
		p := "/logs/" + url.PathEscape(c)
		ps[i] = [2]string{p + "/entries", p + "/batch"}
	}
	return ps
}

type venueWriter struct {
	batch    int // entries per request; > 1: POST /logs/{log}/batch
	nodes    []*client.Client
	http1    []*http1Conn // one per node, unless VenueTarget.GoClient
	home     int          // the node of every append, or -1: the channel's node
	channels []string
	paths    [][2]string // VenueTarget.paths
	body     []byte      // a batch request's body, reused
}

// Close closes the writer's connections.
func (w *venueWriter) Close() error {
	for _, c := range w.http1 {
		c.close()
	}
	for _, c := range w.nodes {
		c.HTTPClient().CloseIdleConnections()
	}
	return nil
}

func (w *venueWriter) Append(ctx context.Context, ch int, entry []byte) error {
	n := w.home
	if n < 0 {
		n = ch % len(w.nodes)
	}
	if w.http1 != nil {
		return w.appendHTTP1(ctx, w.http1[n], ch, entry)
	}
	if w.batch > 1 {
		es := make([][]byte, w.batch)
		for i := range es {
			es[i] = Frame(entry)
		}
		_, err := w.nodes[n].AppendBatch(ctx, w.channels[ch], es)
		return err
	}
	_, err := w.nodes[n].Append(ctx, w.channels[ch], Frame(entry))
	return err
}

// appendHTTP1 makes an append (or a batch of w.batch) over c and checks
// that the venue answered with an index for every entry.
func (w *venueWriter) appendHTTP1(ctx context.Context, c *http1Conn, ch int, entry []byte) error {
	if w.batch <= 1 {
		data, err := c.post(ctx, w.paths[ch][0], "message/mls", Frame(entry))
		if err != nil {
			return err
		}
		var out struct {
			Index *int64 `json:"index"`
		}
		if err := json.Unmarshal(data, &out); err != nil || out.Index == nil {
			return fmt.Errorf("the venue's answer to an append has no index: %q", data)
		}
		return nil
	}
	e := Frame(entry)
	b := w.body[:0]
	for range w.batch {
		b = api.AppendBatch(b, e)
	}
	w.body = b
	data, err := c.post(ctx, w.paths[ch][1], api.BatchContentType, b)
	if err != nil {
		return err
	}
	var out struct {
		Indexes []int64 `json:"indexes"`
	}
	if err := json.Unmarshal(data, &out); err != nil || len(out.Indexes) != w.batch {
		return fmt.Errorf("the venue's answer to a batch of %d has not as many indexes: %q", w.batch, data)
	}
	return nil
}

// Stats are the venue's group-commit counters (GET /v1/stats), summed over
// its nodes.
type Stats struct {
	Appends, Batches int64
	BatchTime        time.Duration
	// Integration (one node's venue): rounds, checkpoints signed, time in
	// them, and the largest time an appended entry waited for its
	// checkpoint since the venue started.
	Integrations, Signed int64
	IntegrateTime        time.Duration
	MaxLag               time.Duration
	// Holds and HoldTime count the sequencer's pauses while integration
	// was behind (back-pressure).
	Holds    int64
	HoldTime time.Duration
}

// Stats reads the counters of every node; it returns zero Stats if a node
// does not answer.
func (t *VenueTarget) Stats(ctx context.Context, admin string) Stats {
	var s Stats
	for _, u := range t.URLs {
		req, err := http.NewRequestWithContext(ctx, "GET", u+"/v1/stats", nil)
		if err != nil {
			return Stats{}
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := t.hc.Do(req)
		if err != nil {
			return Stats{}
		}
		var v struct {
			Appends      int64   `json:"appends"`
			Batches      int64   `json:"batches"`
			AvgBatchMS   float64 `json:"avg_batch_ms"`
			Integrations int64   `json:"integrations"`
			Signed       int64   `json:"checkpoints_signed"`
			AvgIntMS     float64 `json:"avg_integration_ms"`
			MaxLagMS     float64 `json:"max_integration_lag_ms"`
			Holds        int64   `json:"integration_holds"`
			HoldMS       float64 `json:"integration_hold_ms"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&v)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return Stats{}
		}
		s.Appends += v.Appends
		s.Batches += v.Batches
		s.BatchTime += time.Duration(v.AvgBatchMS * float64(v.Batches) * float64(time.Millisecond))
		s.Integrations += v.Integrations
		s.Signed += v.Signed
		s.IntegrateTime += time.Duration(v.AvgIntMS * float64(v.Integrations) * float64(time.Millisecond))
		s.MaxLag = max(s.MaxLag, time.Duration(v.MaxLagMS*float64(time.Millisecond)))
		s.Holds += v.Holds
		s.HoldTime += time.Duration(v.HoldMS * float64(time.Millisecond))
	}
	return s
}

// Sub returns s - o.
func (s Stats) Sub(o Stats) Stats {
	return Stats{Appends: s.Appends - o.Appends, Batches: s.Batches - o.Batches, BatchTime: s.BatchTime - o.BatchTime,
		Integrations: s.Integrations - o.Integrations, Signed: s.Signed - o.Signed, IntegrateTime: s.IntegrateTime - o.IntegrateTime,
		MaxLag: s.MaxLag, Holds: s.Holds - o.Holds, HoldTime: s.HoldTime - o.HoldTime}
}

// String describes the group commits.
func (s Stats) String() string {
	if s.Batches <= 0 {
		return "no group-commit statistics"
	}
	out := fmt.Sprintf("%d group commits, %.1f entries and %.2fms each on average", s.Batches,
		float64(s.Appends)/float64(s.Batches), float64(s.BatchTime)/float64(s.Batches)/float64(time.Millisecond))
	if s.Integrations > 0 {
		out += fmt.Sprintf("; %d integrations, %.1f checkpoints and %.2fms each, %.1f appends per checkpoint; longest wait for a checkpoint since start %s",
			s.Integrations, float64(s.Signed)/float64(s.Integrations), float64(s.IntegrateTime)/float64(s.Integrations)/float64(time.Millisecond),
			float64(s.Appends)/float64(max(1, s.Signed)), s.MaxLag.Round(100*time.Microsecond))
	}
	if s.Holds > 0 {
		out += fmt.Sprintf("; appends held back %d times for %s in all while integration was behind", s.Holds, s.HoldTime.Round(time.Millisecond))
	}
	return out
}

// Prefill appends perChannel entries of entrySize bytes to each of
// channels channels with the given writers, before anything is measured, so
// that a run can show whether the cost of an append grows with the length
// of the logs. Each call of a writer appends per entries (its batch size).
// It returns the number of entries appended (a multiple of per).
func Prefill(ctx context.Context, writers []Writer, channels, perChannel, per, entrySize int) (int64, error) {
	var next, done atomic.Int64
	total := (int64(channels) * int64(perChannel)) / int64(max(1, per))
	errc := make(chan error, len(writers))
	var wg sync.WaitGroup
	for _, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entry := make([]byte, entrySize)
			for {
				i := next.Add(1) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				if err := w.Append(ctx, int(i%int64(channels)), entry); err != nil {
					errc <- fmt.Errorf("failed to prefill: %w", err)
					return
				}
				done.Add(int64(max(1, per)))
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return done.Load(), err
	}
	return done.Load(), ctx.Err()
}

// TileReads measures what a desk catching up on a log asks for, samples
// times at random places of the log of channel ch: the checkpoint, then a
// full hash tile of level 0 and the entry bundle under it (or the partial
// ones at the end of a short log), with w's device. It returns the log's
// size and the median and 99th percentile of one such round of three
// requests, so that runs on short and long logs can be compared.
func (t *VenueTarget) TileReads(ctx context.Context, w Writer, ch, samples int) (size int64, p50, p99 time.Duration, err error) {
	vw, ok := w.(*venueWriter)
	if !ok || len(vw.nodes) == 0 {
		return 0, 0, 0, errors.New("tile reads need a venue writer")
	}
	c, log := vw.nodes[0], t.Channels[ch]
	var lat []time.Duration
	// Right after a burst of appends acknowledged as durable, the
	// checkpoint covering them may still be on its way (integration).
	time.Sleep(100 * time.Millisecond)
	for range samples {
		t0 := time.Now()
		b, err := c.Fetch(ctx, log, "checkpoint")
		if err != nil {
			return 0, 0, 0, err
		}
		cp, err := tlog.ParseCheckpoint(firstNoteText(b))
		if err != nil {
			return 0, 0, 0, fmt.Errorf("checkpoint: %w", err)
		}
		size = cp.Size
		if size == 0 {
			return 0, 0, 0, errors.New("tile reads need a log with entries")
		}
		tile := xtlog.Tile{H: tlog.TileHeight, L: 0, W: tlog.TileWidth}
		if full := size / tlog.TileWidth; full > 0 {
			var nb [8]byte
			rand.Read(nb[:])
			tile.N = int64(binary.BigEndian.Uint64(nb[:])>>1) % full
		} else {
			tile.W = int(size)
		}
		if _, err := c.Fetch(ctx, log, tlog.TilePath(tile)); err != nil {
			return 0, 0, 0, err
		}
		tile.L = tlog.EntriesLevel
		if _, err := c.Fetch(ctx, log, tlog.TilePath(tile)); err != nil {
			return 0, 0, 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return size, lat[len(lat)/2], lat[len(lat)*99/100], nil
}

// firstNoteText returns the text of a signed note (up to the blank line).
func firstNoteText(b []byte) []byte {
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+1]
	}
	return b
}
