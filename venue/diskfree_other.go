//go:build !unix

package venue

// freeBytes cannot tell the free space on this system: the disk watermark
// is not enforced.
func freeBytes(string) int64 { return -1 }
