//go:build unix

package venue

import "syscall"

// freeBytes returns the bytes available to the venue on the file system of
// dir, or -1 if it cannot tell.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize))
}
