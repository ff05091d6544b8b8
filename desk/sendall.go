package desk

import (
	"context"
	"fmt"
	"sync"
)

// sendAllChunk is how many messages SendAll encrypts (and stores, in one
// transaction) before it appends them.
const sendAllChunk = 256

// maxSendAllParallel bounds the appends SendAll has in flight: messages of
// one sender may reach the log out of order by at most that much, well
// within what MLS receivers accept (RFC 9420 §9.2: skipped generations;
// package mls keeps 256 skipped keys per sender).
const maxSendAllParallel = 64

// sendAllBatch is how many messages SendAll sends in one request to the
// venue's batch endpoint (POST /logs/{id}/batch): the venue sequences them
// together and answers once, which costs it a fraction of what as many
// single appends do (BENCHMARKS.md).
const sendAllBatch = 32

// SendAll sends many messages in a channel, as Send does each: encrypted
// (PrivateMessages, RFC 9420 §6.3) in the current epoch, kept until the log
// shows them, appended to the channel's log. It appends them in batches of
// up to sendAllBatch per request, up to parallel messages in flight, so
// that the venue can commit them together; messages may then land in the
// log in a slightly different order than given (at most parallel apart). It returns how many were appended; it stops at the
// first failure. A message that lands after a commit that ended its epoch
// is not sent again (Send does that): SendAll reports it as an error.
//
// It is meant for bulk sending: filling a channel for a benchmark,
// importing a prepared set of statements.
func (d *Desk) SendAll(ctx context.Context, ch string, payloads [][]byte, parallel int) (int, error) {
	parallel = min(max(parallel, 1), maxSendAllParallel)
	if len(payloads) == 0 {
		return 0, nil
	}
	// The first message goes through Send: it starts or joins the group.
	firstIdx, err := d.Send(ctx, ch, payloads[0])
	if err != nil {
		return 0, err
	}
	sent := 1
	d.mu.Lock()
	defer d.mu.Unlock()
	for sent < len(payloads) {
		chunk := payloads[sent:min(len(payloads), sent+sendAllChunk)]
		n, err := d.sendChunkLocked(ctx, ch, chunk, parallel)
		sent += n
		if err != nil {
			return sent, err
		}
	}
	if err := d.syncLogOpt(ctx, ch, false); err != nil {
		return sent, err
	}
	if d.live.Load() == 0 {
		d.confirmLater(ctx, ch)
	}
	late := 0
	if _, err := d.forHistory(ctx, ch, firstIdx, func(m Message) {
		if m.Own && m.Note != "" && m.Kind == "application" {
			late++
		}
	}); err != nil {
		return sent, err
	}
	if late > 0 {
		return sent, fmt.Errorf("%d messages landed after an epoch change: other members cannot read them", late)
	}
	return sent, nil
}

func (d *Desk) sendChunkLocked(ctx context.Context, ch string, chunk [][]byte, parallel int) (int, error) {
	if err := d.syncLogOpt(ctx, ch, false); err != nil {
		return 0, err
	}
	g, err := d.loadGroup(ctx, d.store, ch)
	if err != nil || g == nil {
		return 0, errOr(err, ErrNoGroup)
	}
	if !g.Active() {
		return 0, fmt.Errorf("this desk is no longer a member of %s", ch)
	}
	if err := d.discardUnlogged(ctx, ch, g); err != nil {
		return 0, err
	}
	cts := make([][]byte, len(chunk))
	if err := d.store.Update(ctx, func(tx *Tx) error {
		for i, data := range chunk {
			ct, disc, err := g.EncryptDisclosed(data, nil)
			if err != nil {
				return fmt.Errorf("failed to encrypt: %w", err)
			}
			cts[i] = ct
			if err := putDisclosure(ctx, tx, ch, ct, disc); err != nil {
				return err
			}
			sb, _ := jsonMarshal(sentRecord{Epoch: g.Epoch(), Data: data})
			if err := tx.Put(ctx, sentKey(ch, ct), sb); err != nil {
				return err
			}
		}
		return saveGroup(ctx, tx, ch, g)
	}); err != nil {
		return 0, err
	}
	// Append in order, in batches, about parallel messages in flight.
	size := min(sendAllBatch, max(1, (parallel+1)/2))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sent  int
	)
	work := make(chan [][]byte)
	for range max(1, parallel/size) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				_, err := d.api.appendBatch(ctx, ch, batch)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					sent += len(batch)
				}
				mu.Unlock()
			}
		}()
	}
	for len(cts) > 0 {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		n := min(size, len(cts))
		work <- cts[:n]
		cts = cts[n:]
	}
	close(work)
	wg.Wait()
	if first != nil {
		return sent, fmt.Errorf("failed to send: %w", first)
	}
	return sent, nil
}

// forHistory hands f the processed entries of a channel from log index
// from on, in log order, reading a chunk at a time; it returns the index
// after the last entry it saw (from if none).
func (d *Desk) forHistory(ctx context.Context, ch string, from int64, f func(Message)) (int64, error) {
	next := from
	for {
		ms, err := d.Read(ctx, ch, next, eventsChunk)
		if err != nil {
			return next, err
		}
		for _, m := range ms {
			next = m.Index + 1
			f(m)
		}
		if len(ms) < eventsChunk {
			return next, nil
		}
	}
}
