// Sentinel errors of package benchpeer; callers test them with errors.Is.
package benchpeer

import "errors"

// ErrUnsupported: the target has no equivalent of the operation.
var ErrUnsupported = errors.New("not supported by this target")
