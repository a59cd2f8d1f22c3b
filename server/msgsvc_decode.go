// The message service's request decoder: an operation name and its arguments, each a NUL-terminated string.
package server

import "bytes"

const (
	// svcFieldMax is the longest field, its NUL included (docs/DIALECTS.md: a
	// message has at most 255 characters).
	svcFieldMax = 256
	// svcSkipMax is how much of an over-long argument is skipped, looking for
	// its NUL, before the peer is taken for something that is not a client.
	svcSkipMax = 4096
	// svcOpMax is the longest operation name, "CONNECTEDUSERS", with its NUL.
	svcOpMax = len("CONNECTEDUSERS") + 1
)

// svcOp is a request of the message service .
type svcOp uint8

const (
	opNone svcOp = iota
	opRegister
	opUnregister
	opConnect
	opDisconnect
	opSend
	opConnectedUsers
)

// svcOps gives each operation's name on the wire and the number of string
// arguments that follow it.
var svcOps = [...]struct {
	name  string
	nargs int
}{
	opRegister:       {"REGISTER", 3},   // user name, alias, birth date
	opUnregister:     {"UNREGISTER", 1}, // alias
	opConnect:        {"CONNECT", 2},    // alias, listening port
	opDisconnect:     {"DISCONNECT", 1}, // alias
	opSend:           {"SEND", 3},       // sender, recipient, text
	opConnectedUsers: {"CONNECTEDUSERS", 0},
}

func (op svcOp) String() string { return svcOps[op].name }

// svcState is where the decoder stands in a request.
type svcState uint8

const (
	svcReadOp  svcState = iota // in the operation name
	svcReadArg                 // in an argument
	svcSkipArg                 // in an argument past svcFieldMax: dropped up to its NUL
	svcReady                   // the request is complete
	svcBad                     // not this protocol: close the connection
)

// svcDecoder reads one request, fed in pieces split at any byte. It keeps at
// most one field (svcFieldMax bytes) and allocates only whole arguments.
type svcDecoder struct {
	st      svcState
	op      svcOp
	args    [3]string
	nargs   int
	field   [svcFieldMax]byte
	n       int  // bytes of the current field in field
	skipped int  // bytes of an over-long argument dropped so far
	tooLong bool // an argument was longer than svcFieldMax: its op fails
}

// feed consumes b up to the end of the request, or up to the byte that made
// it bad, and returns how much it used; where b was split never changes
// that. The caller checks d.st.
func (d *svcDecoder) feed(b []byte) int {
	used := 0
	for used < len(b) && d.st < svcReady {
		rest := b[used:]
		end := bytes.IndexByte(rest, 0)
		chunk := rest
		if end >= 0 {
			chunk = rest[:end]
		}
		switch d.st {
		case svcReadOp, svcReadArg:
			limit := svcFieldMax - 1
			if d.st == svcReadOp {
				limit = svcOpMax - 1
			}
			if d.n+len(chunk) > limit {
				if d.st == svcReadOp {
					d.st = svcBad
					return used + limit - d.n
				}
				d.st, d.tooLong, d.skipped, d.n = svcSkipArg, true, d.n, 0
				continue
			}
			d.n += copy(d.field[d.n:], chunk)
		case svcSkipArg:
			if d.skipped+len(chunk) > svcSkipMax {
				d.st = svcBad
				return used + svcSkipMax - d.skipped
			}
			d.skipped += len(chunk)
		}
		if end < 0 {
			return len(b)
		}
		used += end + 1
		d.endField()
	}
	return used
}

// endField files the field just terminated by its NUL.
func (d *svcDecoder) endField() {
	if d.st == svcReadOp {
		d.op = lookupSvcOp(d.field[:d.n])
		d.n = 0
		switch {
		case d.op == opNone:
			d.st = svcBad
		case svcOps[d.op].nargs == 0:
			d.st = svcReady
		default:
			d.st = svcReadArg
		}
		return
	}
	if d.st == svcReadArg {
		d.args[d.nargs] = string(d.field[:d.n])
	}
	d.nargs++
	d.n, d.skipped = 0, 0
	if d.nargs == svcOps[d.op].nargs {
		d.st = svcReady
	} else {
		d.st = svcReadArg
	}
}

func lookupSvcOp(name []byte) svcOp {
	for op := opRegister; int(op) < len(svcOps); op++ {
		if string(name) == svcOps[op].name {
			return op
		}
	}
	return opNone
}
