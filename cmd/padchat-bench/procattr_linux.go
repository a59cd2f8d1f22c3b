// Started servers die with padchat-bench: Linux delivers SIGTERM when the parent goes.
package main

import "syscall"

func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
