// New on the unix systems without a native backend here: select is all there is.
//go:build aix || dragonfly || solaris

package poller

// New returns the select backend, the only one on this system.
func New() (Poller, error) { return NewSelect() }
