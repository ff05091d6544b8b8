package sqlite

import (
	"os"
	"syscall"
)

// datasync makes f's data durable, and its size, without the rest of its
// metadata (fdatasync(2)).
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// preallocate reserves size bytes for f, which reads as zeros past what is
// written: a write into the reserved space leaves the file's size as it is,
// so that fdatasync need not commit a new size to the file system's
// journal (ext4: about a quarter less time per sync, BENCHMARKS.md). File
// systems that cannot preallocate are left as they are.
func preallocate(f *os.File, size int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		for syscall.Fallocate(int(fd), 0, 0, size) == syscall.EINTR {
		}
	})
}
