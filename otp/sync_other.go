//go:build !linux

// Durable writes elsewhere: File.Sync, which is F_FULLFSYNC on darwin.
package otp

import "os"

// syncData makes the bytes written to f durable; plain fsync on darwin would only
// reach the drive's cache.
func syncData(f *os.File) error { return f.Sync() }
