#!/usr/bin/env bash
# Where the paced latency run's time goes, per message, for each target: syscalls, context
# switches, page faults and wake-ups (perf stat) and, per thread, CPU, run-queue wait and
# preemptions (/proc/PID/task/*/schedstat), of the server and of padchat-bench.
#
#   bench/paced-probe.sh [TARGET...]        (default: native line redis)
#
# Runs the latency scenario of compare.sh (100 subscribers, 1 publisher at 1,000 msg/s, 5,000
# messages of 100 B) once per target and samples WINDOW seconds (default 2) from 2 s into the
# measured phase (5 s long), when every thread of both processes exists. The publisher is paced,
# so the window holds WINDOW × 1,000 messages: every count is divided by that. Per-thread
# figures are summed per thread, not per goroutine: a Go server's loop moves between threads.
# On a busy machine the window can outlast the phase (fewer writes per message, a thread list
# left empty): the ratios per loop iteration (per epoll wait) still hold. Needs perf and
# root (or perf_event_paranoid ≤ 1). Hold the bench lock: flock /work/notes/bench.lock ...
# Knobs: BENCH=bin/padchat-bench PADCHATD=bin/padchatd WINDOW=1.5 ROUNDS=1
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-bin/padchat-bench}
PADCHATD=${PADCHATD:-bin/padchatd}
WINDOW=${WINDOW:-1.5}
ROUNDS=${ROUNDS:-1}
targets=("$@")
((${#targets[@]})) || targets=(native line redis)
msgs=$(awk -v w="$WINDOW" 'BEGIN {print int(w * 1000)}')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pads=()
[ -d /dev/shm ] && [ -w /dev/shm ] && pads=(--pad-dir /dev/shm)

ev=raw_syscalls:sys_enter,context-switches,cpu-migrations,page-faults,sched:sched_wakeup
sys=(write read epoll_wait epoll_pwait epoll_ctl futex nanosleep sched_yield tgkill madvise mmap munmap
	pwrite64 fdatasync openat close)
for s in "${sys[@]}"; do ev="$ev,syscalls:sys_enter_$s"; done

# threads PID: one line per thread: pid tid comm cpu_ns wait_ns slices voluntary involuntary
threads() {
	local d
	for d in /proc/"$1"/task/*; do
		printf '%s %s %s %s %s %s\n' "$1" "${d##*/}" "$(tr ' ' _ <"$d/comm")" "$(cat "$d/schedstat")" \
			"$(awk '/^voluntary_ctxt/ {v=$2} /^nonvoluntary_ctxt/ {n=$2} END {print v, n}' "$d/status")"
	done 2>/dev/null || true
}

printf '%-7s %-6s %s\n' target proc "per message over ${msgs} messages (perf stat; per thread: cpu µs, run-queue wait µs, preemptions)"
for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${targets[@]}"; do
		err=$tmp/$t.err
		"$BENCH" latency --target "$t" --subs 100 --pubs 1 --rate 1000 --msgs 5000 --size 100 \
			--padchatd "$PADCHATD" --conf bench --stall 15s "${pads[@]}" 2>"$err" &
		bp=$!
		until grep -q ' 2.0s ' "$err" 2>/dev/null; do
			kill -0 $bp 2>/dev/null || { cat "$err" >&2; exit 1; }
			sleep 0.05
		done
		sp=$(grep -o 'server pid [0-9]*' "$err" | awk '{print $3}')
		{ threads "$sp"; threads "$bp"; } >"$tmp/a"
		perf stat -x, -e "$ev" -p "$sp" -o "$tmp/$t.server" -- sleep "$WINDOW" &
		p1=$!
		perf stat -x, -e "$ev" -p "$bp" -o "$tmp/$t.bench" -- sleep "$WINDOW"
		wait $p1
		{ threads "$sp"; threads "$bp"; } >"$tmp/b"
		wait $bp || true
		for who in server bench; do
			pid=$sp
			[ $who = bench ] && pid=$bp
			counts=$(awk -F, -v m=$msgs '$1 ~ /^[0-9.]+$/ && $1 > 0 {n=$3; sub(/^syscalls:sys_enter_/, "", n); sub(/^raw_syscalls:sys_enter/, "syscalls", n); printf "%s %.2f  ", n, $1/m}' "$tmp/$t.$who")
			thr=$(join <(awk -v p=$pid '$1==p {print $2, $4, $5, $8}' "$tmp/a" | sort) \
				<(awk -v p=$pid '$1==p {print $2, $3, $4, $5, $8}' "$tmp/b" | sort) |
				awk -v m=$msgs '{cpu=($6-$2)/1e3/m; if (cpu >= 1) printf "[%s %.0f/%.0f/%.2f] ", $5, cpu, ($7-$3)/1e3/m, ($8-$4)/m}')
			printf '%-7s %-6s %s\n%-14s threads: %s\n' "$t" $who "$counts" "" "$thr"
		done
		grep -o "latency $t: delivered.*" "$err" | sed 's/ (provisioning.*//' || true
	done
done
