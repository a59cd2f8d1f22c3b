#!/usr/bin/env bash
# padchatd next to ngircd, Redis and NATS on the same work, in one run (make bench-compare).
#
# Installs the peers with apt if missing; padchat-bench starts every server
# fresh on 127.0.0.1 for each run (configs in bench/) and stops it after, so the
# table's ratios are measured minutes apart on the same machine. Writes
# bench/results/<date>.{jsonl,md,svg}. Knobs (environment):
#   TARGETS="native irc redis nats"  SUBS="10 100 200 1000"  REPEAT=3 (median of repeats)
#   BENCH=bin/padchat-bench  PADCHATD=bin/padchatd  PERF=1 (perf profile of padchatd at 200 subs)
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=${BENCH:-bin/padchat-bench}
PADCHATD=${PADCHATD:-bin/padchatd}
TARGETS=${TARGETS:-native irc redis nats}
SUBS=${SUBS:-10 100 200 1000}
REPEAT=${REPEAT:-3}
PUBS=4
DELIVERIES=1000000 # per fan-out run: messages per publisher = DELIVERIES / (subs × PUBS)
export PATH="$PATH:/usr/sbin:/sbin"

for b in "$BENCH" "$PADCHATD"; do
	[ -x "$b" ] || { echo "compare.sh: $b missing: run make build" >&2; exit 1; }
done

missing=()
command -v ngircd >/dev/null || missing+=(ngircd)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nats-server >/dev/null || missing+=(nats-server)
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p bench/results
date=$(date -u +%Y-%m-%d)
json=bench/results/$date.jsonl
: >"$json"
pads=()
[ -d /dev/shm ] && [ -w /dev/shm ] && pads=(--pad-dir /dev/shm) # pads only; the store stays on disk

# The plain-text dialect joins the comparison once padchatd speaks it.
if [[ " $TARGETS " != *" line "* ]] &&
	"$BENCH" fanout --target line --padchatd "$PADCHATD" --subs 2 --pubs 1 --msgs 10 --stall 3s --quiet >/dev/null 2>&1; then
	TARGETS="$TARGETS line"
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
# A long --stall tells a slow run (it catches up) from a lossy one.
bench() { "$BENCH" "$@" --padchatd "$PADCHATD" --conf bench --json "$json" --stall 15s "${pads[@]}" || echo "compare.sh: run failed: $*" >&2; }

for ((rep = 1; rep <= REPEAT; rep++)); do
	for s in $SUBS; do
		msgs=$((DELIVERIES / (s * PUBS)))
		for t in $TARGETS; do
			perf=()
			if [ "${PERF:-}" = 1 ] && [ "$t" = native ] && [ "$s" = 200 ] && [ "$rep" = 1 ]; then
				perf=(--perf "bench/results/$date-native-fanout200.perf")
			fi
			bench fanout --target "$t" --subs "$s" --pubs "$PUBS" --msgs "$msgs" --size 100 "${perf[@]}"
		done
	done
	for t in $TARGETS; do
		bench latency --target "$t" --subs 100 --pubs 1 --rate 1000 --msgs 5000 --size 100
	done
	# The same with padchatd's store on tmpfs: what the per-iteration fsync costs in latency.
	[ -d /dev/shm ] && [[ " $TARGETS " == *" native "* ]] &&
		bench latency --target native --label native-store-on-tmpfs --tmp /dev/shm --subs 100 --pubs 1 --rate 1000 --msgs 5000 --size 100
done
for t in $TARGETS; do
	bench idle --target "$t" --conns 1000
	case $t in irc | line) ;; *) bench dm --target "$t" --pubs 4 --msgs 10000 --recipients 10 --window 128 --size 100 ;; esac
done

"$BENCH" report --in "$json" --md "bench/results/$date.md" --svg "bench/results/$date.svg" \
	--note "servers: padchatd ($(git rev-parse --short HEAD 2>/dev/null || echo '?')), $(ngircd --version 2>/dev/null | head -1 | cut -d- -f1), $(redis-server --version | cut -d' ' -f1-3), $(nats-server --version)" \
	--note "fan-out: $PUBS publishers, 100-byte messages, $DELIVERIES deliveries per run, publishers at most 256 messages ahead of the slowest subscriber; chat servers (padchatd, ngircd) need publishers in the room, so they also relay to the other publishers" \
	--note "padchatd pads on ${pads[1]:-the disk of the data dir} (provisioning is not measured), store (bbolt, fsync per loop iteration) on $(df --output=source "${TMPDIR:-/tmp}" | tail -1); Redis DMs use appendfsync always; NATS JetStream 2.9 acks before fsync" \
	--note "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs shared with other work: expect ±30% between runs, compare ratios" \
	--note "each figure is the median of $REPEAT runs (fan-out, latency; lost: the worst run); whole comparison: $((SECONDS - start)) s"
echo "wrote bench/results/$date.md and bench/results/$date.svg" >&2
