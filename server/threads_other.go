//go:build !linux

package server

// osThreads cannot count threads here: 0, and trimThreads ends none.
func osThreads() int { return 0 }
