// Sentinel errors of package bundle; callers test them with errors.Is.
package bundle

import "errors"

// ErrBadProfile: profile.json is missing fields or of another version.
var ErrBadProfile = errors.New("bundle: bad profile")
