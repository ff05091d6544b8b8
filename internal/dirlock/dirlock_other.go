//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

var errBusy = errors.New("locked")

// Without flock there is no lock: run one process per directory.
func tryLock(*os.File) error { return nil }
func unlock(*os.File)        {}
