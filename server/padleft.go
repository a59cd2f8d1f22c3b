package server

// padLeft is filled in once otp exposes a read-only state reader.
func padLeft(path string) int64 { return -1 }
