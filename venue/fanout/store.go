package fanout

import (
	"context"

	"github.com/good-offices/goodoffices/venue/store"
)

// A Publisher sends a notice to the other nodes. It must not block for long
// and must not fail the change, which is already durable.
type Publisher interface {
	Publish(n *Notice)
}

// Wrap returns s, publishing through p every change s made durable. When s
// is a store.Shared, so is the result.
func Wrap(s store.Store, p Publisher) store.Store {
	n := &notifyingStore{Store: s, pub: p}
	if sh, ok := s.(store.Shared); ok {
		return &notifyingShared{notifyingStore: n, shared: sh}
	}
	return n
}

type notifyingShared struct {
	*notifyingStore
	shared store.Shared
}

func (s *notifyingShared) AppendLocked(ctx context.Context, logs []string, plan func(map[string]store.Head) ([]store.LogAppend, error)) error {
	var batch []store.LogAppend
	err := s.shared.AppendLocked(ctx, logs, func(heads map[string]store.Head) ([]store.LogAppend, error) {
		b, err := plan(heads)
		batch = b
		return b, err
	})
	if err != nil || len(batch) == 0 {
		return err
	}
	s.publishAppend(batch)
	return nil
}

type notifyingStore struct {
	store.Store
	pub Publisher
}

func (s *notifyingStore) Append(ctx context.Context, batch []store.LogAppend) error {
	if err := s.Store.Append(ctx, batch); err != nil {
		return err
	}
	s.publishAppend(batch)
	return nil
}

func (s *notifyingStore) publishAppend(batch []store.LogAppend) {
	n := &Notice{Logs: make(map[string]int64, len(batch))}
	for _, a := range batch {
		n.Logs[a.Log] = a.OldSize + int64(len(a.Entries))
	}
	s.pub.Publish(n)
}

func (s *notifyingStore) PutMail(ctx context.Context, device string, data []byte) (int64, error) {
	id, err := s.Store.PutMail(ctx, device, data)
	if err == nil {
		s.pub.Publish(&Notice{Mail: []string{device}})
	}
	return id, err
}

func (s *notifyingStore) PutDevice(ctx context.Context, d store.Device) error {
	err := s.Store.PutDevice(ctx, d)
	if err == nil {
		s.pub.Publish(&Notice{Devices: []string{d.ID}})
	}
	return err
}

func (s *notifyingStore) CreateChannel(ctx context.Context, c store.Channel) error {
	err := s.Store.CreateChannel(ctx, c)
	if err == nil {
		s.pub.Publish(&Notice{Channels: []string{c.ID}})
	}
	return err
}

func (s *notifyingStore) SetMembers(ctx context.Context, id string, members []string) error {
	err := s.Store.SetMembers(ctx, id, members)
	if err == nil {
		s.pub.Publish(&Notice{Channels: []string{id}})
	}
	return err
}

// Unwrap returns the wrapped store.
func (s *notifyingStore) Unwrap() store.Store { return s.Store }
