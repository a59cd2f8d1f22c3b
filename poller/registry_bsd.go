// The kqueue backend's part of a registry entry.
//go:build darwin || freebsd || netbsd || openbsd

package poller

// kqMerge: batch and slot merge an fd's read and write events of one Wait into one Event.
type kqMerge struct {
	batch uint64
	slot  int
}
