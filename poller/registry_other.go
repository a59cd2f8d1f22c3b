// Registry entries of the backends that merge nothing.
//go:build !(darwin || freebsd || netbsd || openbsd)

package poller

//lint:ignore U1000 empty: see registry_bsd.go
type kqMerge struct{}
