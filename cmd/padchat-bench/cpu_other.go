//go:build !linux

// Other systems: a process's CPU time in clock ticks, from /proc.
package main

import "time"

// processCPU is process pid's user + system time, in whole clock ticks.
func processCPU(pid int) (time.Duration, error) { return tickCPU(pid) }
