//go:build !unix

package desk

import "os"

// Without flock, only the in-process mutex serialises: run one process per
// desk home on such systems.
func flock(*os.File)   {}
func funlock(*os.File) {}
