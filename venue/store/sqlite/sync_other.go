//go:build !linux

package sqlite

import "os"

// datasync makes f's data durable (fsync; F_FULLFSYNC on macOS).
func datasync(f *os.File) error { return f.Sync() }

// preallocate does nothing here: journal files grow with every write.
func preallocate(f *os.File, size int64) {}
