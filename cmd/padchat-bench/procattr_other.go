//go:build !linux

// Without Pdeathsig, a server started by a killed padchat-bench outlives it;
// the normal paths (end of run, interrupt) still stop it.
package main

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
