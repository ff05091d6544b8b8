package desk

import (
	"os"
	"path/filepath"
	"sync"
)

// LockFile is the file in a desk's home that processes using the same desk
// lock while they change its state.
const LockFile = "desk.lock"

// deskLock serialises the operations that change a desk's state (syncs,
// sends, commits): within the process with a mutex, and across processes
// sharing the home directory (a 'desk run' and a 'desk send' on the command
// line) with an advisory file lock, held only for the operation. Readers
// need no lock: the store is SQLite in WAL mode and a cached group is used
// only while the store still holds the state it was cached with.
//
// The in-process lock is a one-slot channel rather than a sync.Mutex: a
// goroutine waiting on a channel is "durably blocked" in the sense of
// testing/synctest, so the simulation's fake clock can advance while one
// operation waits for another that is waiting on the (simulated) network.
type deskLock struct {
	once sync.Once
	sem  chan struct{}
	f    *os.File // nil: no file lock (the file could not be opened)
}

func (l *deskLock) slot() chan struct{} {
	l.once.Do(func() { l.sem = make(chan struct{}, 1) })
	return l.sem
}

func (l *deskLock) open(home string) {
	f, err := os.OpenFile(filepath.Join(home, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		l.f = f
	}
}

func (l *deskLock) Lock() {
	l.slot() <- struct{}{}
	if l.f != nil {
		flock(l.f)
	}
}

func (l *deskLock) Unlock() {
	if l.f != nil {
		funlock(l.f)
	}
	<-l.slot()
}

func (l *deskLock) close() {
	if l.f != nil {
		l.f.Close()
	}
}
