// Timers on the loop: every deadline (connection auth and idle, pings, accept resume, housekeeping, sweeps) is one poller.Timers entry.
package server

import "time"

// loopTimer marks the id of a loop timer; a Conn's timer (Conn.timer) fires
// with its tag, which keeps that bit clear.
const loopTimer = 1 << 63

// newTimer registers fire as a loop timer, disarmed, and returns its id.
func (l *Loop) newTimer(fire func()) uint64 {
	l.timerFns = append(l.timerFns, fire)
	return loopTimer | uint64(len(l.timerFns)-1)
}

// setTimer arms (or moves) timer id for at, in unix nanos.
func (l *Loop) setTimer(id uint64, at int64) { l.timers.Set(id, time.Unix(0, at)) }

func (l *Loop) stopTimer(id uint64) { l.timers.Cancel(id) }

// setConnTimer arms (or moves) c's deadline for at, in unix nanos: a slot in
// the heap and no map entry or allocation per connection.
func (l *Loop) setConnTimer(c *Conn, at int64) {
	l.timers.SetTimer(&c.timer, c.tag(), time.Unix(0, at))
}

// timeout is Wait's: the time to the nearest deadline.
func (l *Loop) timeout() time.Duration {
	if len(l.dirty) > 0 {
		return 0 // output flushAll's rounds left for the next iteration (a staged backlog)
	}
	return l.timers.Until(time.Now())
}

// expire fires every timer due at l.now.
func (l *Loop) expire() { l.timers.Expire(time.Unix(0, l.now), l.fire) }

func (l *Loop) fire(id uint64) {
	if id&loopTimer != 0 {
		l.timerFns[id&^loopTimer]()
		return
	}
	fd := int(uint32(id))
	if fd >= len(l.conns) {
		return
	}
	if c := l.conns[fd]; c != nil && c.tag() == id && !c.closed && !c.dying {
		l.armConn(c)
	}
}

// armConn lets c's handler act on the deadlines that passed and arms the
// next one it names. Activity does not touch the timer: a handler reads
// c.lastRead when its deadline comes and names a later one, so a busy
// connection costs one heap operation per idle period, not one per read.
func (l *Loop) armConn(c *Conn) {
	if at := c.h.onDeadline(c, l.now); at > 0 && !c.closed && !c.dying {
		l.setConnTimer(c, at)
	}
}

// idleChanged makes every connection and sweeper look at its deadlines again
// after the idle timeout changed: a shorter one may already have passed.
func (l *Loop) idleChanged() {
	for _, c := range l.conns {
		if c != nil && !c.closed && !c.dying {
			l.setConnTimer(c, l.now)
		}
	}
	for _, w := range l.watchers {
		if s, ok := w.(interface{ idleChanged() }); ok {
			s.idleChanged()
		}
	}
}

// tick is housekeeping, once a second: the output buffer pool, lingering
// sockets whose time is up, the cluster heartbeat and the metrics snapshot.
// It visits no connection (idle pads have their own timer: hub.coolPads).
func (l *Loop) tick() {
	l.setTimer(l.tickTimer, l.now+int64(housekeeping))
	l.trimBufs()
	l.sweepLingerers()
	l.hub.heartbeat()
	l.publish()
}
