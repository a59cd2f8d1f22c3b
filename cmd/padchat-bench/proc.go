// Server CPU and memory from /proc, and finding the pid behind a listening port.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) would say
// so too, but needs cgo).
const clockTicks = 100

// procSample is one reading of a process.
type procSample struct {
	CPU     time.Duration // user + system, all threads (processCPU)
	RSS     int64         // VmRSS, bytes
	RSSAnon int64         // RssAnon: heap, stacks (no mapped files)
	RSSFile int64         // RssFile: mapped files (pads, for padchatd)
}

func sampleProc(pid int) (procSample, error) {
	var s procSample
	var err error
	if s.CPU, err = processCPU(pid); err != nil {
		return s, err
	}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &s.RSS
		case "RssAnon":
			dst = &s.RSSAnon
		case "RssFile":
			dst = &s.RSSFile
		default:
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		*dst = kb << 10
	}
	return s, sc.Err()
}

// tickCPU is the process's user + system time from /proc/PID/stat, in whole
// clock ticks of 10 ms.
func tickCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state): utime is field 14, stime 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// selfCPU is this process's user + system time: the load generator's own cost.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidListening finds the process with a TCP socket listening on addr's port:
// the socket's inode from /proc/net/tcp{,6}, then the process holding it.
func pidListening(addr string) (int, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(l)
			// local_address is HEX_IP:HEX_PORT; st 0A is LISTEN; inode is field 10.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			if i := strings.LastIndexByte(f[1], ':'); i >= 0 {
				if lp, err := strconv.ParseInt(f[1][i+1:], 16, 32); err == nil && int(lp) == p {
					inodes["socket:["+f[9]+"]"] = true
				}
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d", p)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if link, err := os.Readlink(fd); err == nil && inodes[link] {
			return strconv.Atoi(strings.Split(fd, "/")[2])
		}
	}
	return 0, fmt.Errorf("no visible process holds the listener on port %d (give --server-pid)", p)
}

// threadStates says what the server's threads are doing, for a run that
// stalled: how many are running, sleeping or in uninterruptible (disk) wait,
// and where the waiting ones wait.
func threadStates(pid int) string {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	count := map[string]int{}
	var waits []string
	for _, t := range tasks {
		stat, err := os.ReadFile(t + "/stat")
		i := bytes.LastIndexByte(stat, ')')
		if err != nil || i < 0 || i+2 >= len(stat) {
			continue
		}
		st := string(stat[i+2])
		count[st]++
		if st == "D" {
			if w, err := os.ReadFile(t + "/wchan"); err == nil {
				waits = append(waits, string(w))
			}
		}
	}
	var parts []string
	for _, st := range []string{"R", "S", "D"} {
		if count[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[st], st))
		}
	}
	out := "server threads " + strings.Join(parts, ", ")
	if len(waits) > 0 {
		out += " (D in " + strings.Join(waits, ", ") + ")"
	}
	return out
}
