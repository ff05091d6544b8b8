package desk

// SetHandoverTamper makes this process's Handover change every bundle with
// f before signing it (a lying device); nil restores honesty.
func SetHandoverTamper(f func(*Handover)) { handoverTamper = f }

// SetSnapshotEvery makes this process write the snapshot of the talks
// after every n entries (and restores the defaults when the test ends).
func SetSnapshotEvery(t interface{ Cleanup(func()) }, n int64) {
	every, growth := snapshotEvery, snapshotGrowth
	snapshotEvery, snapshotGrowth = n, 1<<40
	t.Cleanup(func() { snapshotEvery, snapshotGrowth = every, growth })
}
