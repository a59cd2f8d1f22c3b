// Package durable replaces small files so that a crash leaves the old or the new one, never half of either.
package durable

import "os"

// WriteFile replaces path with data (mode 0600): it writes path+".tmp", fsyncs
// it and renames it over path. The rename itself is as durable as the file
// system makes it without a sync of the directory, which callers that need it do.
func WriteFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
