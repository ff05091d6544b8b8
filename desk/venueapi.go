package desk

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/good-offices/goodoffices/venue/client"
)

// The venue as the desk uses it: a thin layer over package venue/client that
// sorts the venue's failures into "could not get an answer" (transient: retry
// later, no alarm) and everything else, which the verifier judges.

// ErrEpochTaken is returned when the venue already logged a commit for that
// epoch (HTTP 409): re-base on the log and retry.
var ErrEpochTaken = errors.New("another commit already holds this epoch")

// A transientError is a failure to reach the venue or a refusal by it, as
// opposed to something the venue served that does not verify.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err}
}

type venueClient struct {
	url string
	hc  *http.Client // nil: client's default
	// acked, if set, is told of every append the venue acknowledged
	// (eclipse.go: the desk checks that a served checkpoint covers it).
	acked func(ctx context.Context, log string, index int64)
	mu    sync.Mutex
	c     *client.Client // anonymous until setDevice
}

func newVenueClient(rawURL string, hc *http.Client) (*venueClient, error) {
	v := &venueClient{url: rawURL, hc: hc}
	c, err := client.New(rawURL, v.options()...)
	if err != nil {
		return nil, err
	}
	v.c = c
	return v, nil
}

func (v *venueClient) options(more ...client.Option) []client.Option {
	if v.hc != nil {
		more = append(more, client.WithHTTPClient(v.hc))
	}
	return more
}

func (v *venueClient) setDevice(_ string, key ed25519.PrivateKey) {
	c, err := client.New(v.url, v.options(client.WithDevice(key))...)
	if err != nil {
		return // the URL was accepted by newVenueClient
	}
	v.mu.Lock()
	v.c = c
	v.mu.Unlock()
}

func (v *venueClient) cl() *client.Client {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.c
}

func (v *venueClient) info(ctx context.Context) (client.Info, error) {
	i, err := v.cl().Info(ctx)
	return i, transient(err)
}

func (v *venueClient) registerDevice(ctx context.Context, cert []byte) (client.Device, error) {
	d, err := v.cl().RegisterDevice(ctx, cert)
	return d, transient(err)
}

func (v *venueClient) channels(ctx context.Context) ([]client.Channel, error) {
	c, err := v.cl().Channels(ctx)
	return c, transient(err)
}

func (v *venueClient) devices(ctx context.Context, del string) ([]client.Device, error) {
	d, err := v.cl().Devices(ctx, del)
	return d, transient(err)
}

func (v *venueClient) uploadKeyPackages(ctx context.Context, oneTime [][]byte, lastResort []byte) (int, error) {
	n, err := v.cl().UploadKeyPackages(ctx, oneTime, lastResort)
	return n, transient(err)
}

func (v *venueClient) countKeyPackages(ctx context.Context) (int, error) {
	n, err := v.cl().KeyPackageStock(ctx)
	return n, transient(err)
}

func (v *venueClient) claimKeyPackage(ctx context.Context, device string) ([]byte, bool, error) {
	kp, lr, err := v.cl().ClaimKeyPackage(ctx, device)
	return kp, lr, transient(err)
}

func (v *venueClient) sendMail(ctx context.Context, device string, msg []byte) error {
	_, err := v.cl().SendMail(ctx, device, msg)
	return transient(err)
}

func (v *venueClient) mail(ctx context.Context, after int64) ([]client.Mail, error) {
	m, err := v.cl().Mail(ctx, after)
	return m, transient(err)
}

func (v *venueClient) deleteMail(ctx context.Context, through int64) error {
	return transient(v.cl().DeleteMail(ctx, through))
}

// appendEntry posts an entry to a channel's log. If commitEpoch >= 0 the
// entry is announced as the commit for that epoch; a 409 yields ErrEpochTaken.
func (v *venueClient) appendEntry(ctx context.Context, log string, entry []byte, commitEpoch int64) (int64, error) {
	return v.appendEntryBased(ctx, log, entry, commitEpoch, 0)
}

// appendEntryBased is appendEntry for a commit of a group whose channel's
// earlier groups ended at a total of base epochs (upgrade.go).
func (v *venueClient) appendEntryBased(ctx context.Context, log string, entry []byte, commitEpoch int64, base uint64) (int64, error) {
	var idx int64
	var err error
	if commitEpoch >= 0 {
		idx, err = v.cl().AppendCommitBased(ctx, log, entry, uint64(commitEpoch), base)
	} else {
		idx, err = v.cl().Append(ctx, log, entry)
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusConflict {
		return 0, ErrEpochTaken
	}
	if err == nil && v.acked != nil {
		v.acked(ctx, log, idx)
	}
	return idx, transient(err)
}

// appendBatch posts entries to a channel's log in one request (the venue's
// batch endpoint) and returns their indexes.
func (v *venueClient) appendBatch(ctx context.Context, log string, entries [][]byte) ([]int64, error) {
	idx, err := v.cl().AppendBatch(ctx, log, entries)
	if err == nil && v.acked != nil {
		for _, i := range idx {
			v.acked(ctx, log, i)
		}
	}
	return idx, transient(err)
}

// maybeLogged reports whether an append that failed with err may still
// have been logged: the venue did not answer, or answered 5xx other than
// 507 (package venue: "a 503 ... the entry is then usually not in the log,
// but ... it may be"). A 4xx or 507 is a refusal: nothing was logged.
func maybeLogged(err error) bool {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return !errors.Is(err, ErrEpochTaken)
	}
	return ce.Status >= 500 && ce.Status != http.StatusInsufficientStorage
}

// fetcher returns a tlog.FetchFunc for a log. Failures to get an answer are
// transientErrors; what the venue serves is left to the verifier.
func (v *venueClient) fetcher(log string) func(ctx context.Context, path string) ([]byte, error) {
	return func(ctx context.Context, path string) ([]byte, error) {
		b, err := v.cl().Fetch(ctx, log, path)
		if err != nil {
			return nil, transient(fmt.Errorf("log %s, %s: %w", log, path, err))
		}
		return b, nil
	}
}

func (v *venueClient) subscribe(ctx context.Context, cursor string) (*client.Subscription, error) {
	s, err := v.cl().Subscribe(ctx, cursor)
	return s, transient(err)
}
