// Package dirlock holds an exclusive lock on a data directory for the life
// of a process, so that a second process started on the same directory
// refuses at once, before it changes anything there.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrInUse is returned (wrapped) by Acquire when another process holds the
// lock.
var ErrInUse = errors.New("in use by another process")

// A Lock is a held lock; Release lets it go (so does the process's exit).
type Lock struct{ f *os.File }

// Acquire takes the exclusive lock file name in dir (which must exist),
// without waiting. If another process holds it, it returns an error that
// wraps ErrInUse and names that process's ID; the lock file is the only
// thing it may create, and it writes nothing unless it holds the lock.
func Acquire(dir, name string) (*Lock, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open the lock file: %w", err)
	}
	if err := tryLock(f); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, errBusy) {
			holder := ""
			if pid := strings.TrimSpace(string(b[:n])); pid != "" {
				holder = " (process " + pid + ")"
			}
			return nil, fmt.Errorf("%s is %w%s", dir, ErrInUse, holder)
		}
		return nil, fmt.Errorf("failed to lock %s: %w", path, err)
	}
	// Record who holds it, for the message of the next one.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release releases the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	unlock(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
