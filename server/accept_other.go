//go:build !linux

// Without accept4 the flags are set after accept; the loop is single-threaded, so no fork races it.
package server

import "golang.org/x/sys/unix"

func acceptNonblock(fd int) (int, unix.Sockaddr, error) {
	nfd, sa, err := unix.Accept(fd)
	if err != nil {
		return -1, nil, err
	}
	unix.CloseOnExec(nfd)
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, nil, err
	}
	return nfd, sa, nil
}
