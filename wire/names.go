// Names of users and rooms: short, printable, safe in logs, file names and every dialect.
package wire

// ValidName reports whether b is a legal user or room name.
func ValidName(b []byte) bool {
	if len(b) == 0 || len(b) > MaxName {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == '.':
		default:
			return false
		}
	}
	return b[0] != '.' && b[0] != '-'
}

// CheckName is ValidName for strings, returning ErrBadName.
func CheckName(s string) error {
	if !ValidName([]byte(s)) {
		return ErrBadName
	}
	return nil
}
