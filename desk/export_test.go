package desk

// SetHandoverTamper makes this process's Handover change every bundle with
// f before signing it (a lying device); nil restores honesty.
func SetHandoverTamper(f func(*Handover)) { handoverTamper = f }
