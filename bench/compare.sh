#!/usr/bin/env bash
# padchatd next to ngircd, Redis and NATS on the same work, in one run (make bench-compare).
#
# Installs the peers with apt if missing; padchat-bench starts every server
# fresh on 127.0.0.1 for each run (configs in bench/) and stops it after, so the
# table's ratios are measured minutes apart on the same machine. Writes
# bench/results/<date>.{jsonl,md,svg}. Knobs (environment):
#   TARGETS="native irc redis nats"  SUBS="10 100 200 1000"  MODES="flood window"  REPEAT=3 (median of repeats)
#   SCENARIOS="fanout latency idle dm": which scenarios run (e.g. SCENARIOS=dm for the durable DMs alone)
#   BENCH=bin/padchat-bench  PADCHATD=bin/padchatd  PERF=1 (perf profile of padchatd, flood at 200 subs)
#   BASELINE=path/to/padchatd: a second padchatd measured in the same rounds (labels native-before,
#     line-before), e.g. the build of main before a change; BASELINE_BENCH=path: the padchat-bench
#     that speaks its protocol version (default BENCH). Ratios and goals stay relative to PADCHATD.
#   OUT=bench/results/<date>: where the results go (without extension)
#   PADCHATD_REV, BASELINE_REV: what to call the two builds in the report (default: their vcs stamp)
#   NODES="1 2 3": also run each fan-out with the subscribers spread over that many padchatd
#     cluster nodes (labels cluster-N); NODES and NATS_SERVER as bench/nodes.sh defines them
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=${BENCH:-bin/padchat-bench}
PADCHATD=${PADCHATD:-bin/padchatd}
BASELINE=${BASELINE:-}
BASELINE_BENCH=${BASELINE_BENCH:-$BENCH}
TARGETS=${TARGETS:-native irc redis nats}
SUBS=${SUBS:-10 100 200 1000}
MODES=${MODES:-flood window}
REPEAT=${REPEAT:-3}
SCENARIOS=${SCENARIOS:-fanout latency idle dm}
PUBS=4
WINDOW=256
DELIVERIES=${DELIVERIES:-1000000} # per fan-out run: messages per publisher = DELIVERIES / (subs × PUBS)
export PATH="$PATH:/usr/sbin:/sbin"

for b in "$BENCH" "$PADCHATD" ${BASELINE:+"$BASELINE" "$BASELINE_BENCH"}; do
	[ -x "$b" ] || { echo "compare.sh: $b missing: run make build" >&2; exit 1; }
done

# Each run holds subscribers + publishers connections in padchat-bench and as many in the server.
maxsubs=0
for s in $SUBS; do ((s > maxsubs)) && maxsubs=$s; done
need=$((2 * maxsubs + 256))
if (($(ulimit -n) < need)); then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	(($(ulimit -n) >= need)) || { echo "compare.sh: ulimit -n is $(ulimit -n), $need needed for $maxsubs subscribers" >&2; exit 1; }
fi

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
out=${OUT:-bench/results/$date}
json=$out.jsonl
: >"$json"
pads=()
[ -d /dev/shm ] && [ -w /dev/shm ] && pads=(--pad-dir /dev/shm) # pads only; the store stays on disk

# The plain-text dialect joins the comparison once padchatd speaks it.
if [[ " $TARGETS " != *" line "* ]] &&
	"$BENCH" fanout --target line --padchatd "$PADCHATD" --subs 2 --pubs 1 --msgs 10 --stall 3s --quiet >/dev/null 2>&1; then
	TARGETS="$TARGETS line"
fi
# The baseline padchatd runs beside the measured one, as native-before and line-before.
if [ -n "$BASELINE" ]; then
	for t in $TARGETS; do
		case $t in native | line) TARGETS="$TARGETS $t-before" ;; esac
	done
fi

. bench/nodes.sh
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
# bench SCENARIO TARGET FLAGS...: one run; TARGET-before is the baseline padchatd.
# A long --stall tells a slow run (it catches up) from a lossy one.
bench() {
	local scenario=$1 t=$2
	shift 2
	local bin=$BENCH padchatd=$PADCHATD label=()
	if [[ $t == *-before ]]; then
		bin=$BASELINE_BENCH padchatd=$BASELINE label=(--label "$t") t=${t%-before}
	fi
	"$bin" "$scenario" --target "$t" "${label[@]}" "$@" --padchatd "$padchatd" --conf bench --json "$json" --stall 15s "${pads[@]}" ||
		echo "compare.sh: run failed: $scenario $t $*" >&2
}

# runs SCENARIO: whether SCENARIOS includes it.
runs() { [[ " $SCENARIOS " == *" $1 "* ]]; }

for ((rep = 1; rep <= REPEAT; rep++)); do
	runs fanout && for s in $SUBS; do
		msgs=$((DELIVERIES / (s * PUBS)))
		for mode in $MODES; do
			window=(--window "$WINDOW")
			[ "$mode" = flood ] && window=(--flood)
			for t in $TARGETS; do
				perf=()
				if [ "${PERF:-}" = 1 ] && [ "$mode" = flood ] && [[ $t == native* ]] && [ "$s" = 200 ] && [ "$rep" = 1 ]; then
					perf=(--perf "$out-$t-flood200.perf")
				fi
				bench fanout "$t" --subs "$s" --pubs "$PUBS" --msgs "$msgs" --size 100 "${window[@]}" "${perf[@]}"
			done
			for n in ${NODES:-}; do
				node_flags "$n"
				bench fanout native "${nodes_args[@]}" --subs "$s" --pubs "$PUBS" --msgs "$msgs" --size 100 "${window[@]}"
			done
		done
	done
	runs latency && for t in $TARGETS; do
		bench latency "$t" --subs 100 --pubs 1 --rate 1000 --msgs 5000 --size 100
	done
	# The same with padchatd's store on tmpfs: what the per-iteration fsync costs in latency.
	runs latency && [ -d /dev/shm ] && [[ " $TARGETS " == *" native "* ]] &&
		bench latency native --label native-store-on-tmpfs --tmp /dev/shm --subs 100 --pubs 1 --rate 1000 --msgs 5000 --size 100
	# Durable DMs: every round, so the table holds medians like the others.
	runs dm && for t in $TARGETS; do
		case $t in irc | line*) ;; *) bench dm "$t" --pubs 4 --msgs 10000 --recipients 10 --window 128 --size 100 ;; esac
	done
	runs idle && for t in $TARGETS; do
		bench idle "$t" --conns 1000
	done
done

# Which commit a padchatd was built from: $2 if given (PADCHATD_REV, BASELINE_REV), else what
# go build stamped (nothing under -buildvcs=false), else HEAD for the default bin/padchatd.
rev() {
	[ -n "${2:-}" ] && { echo "$2"; return; }
	[ "$1" = bin/padchatd ] && { git rev-parse --short HEAD 2>/dev/null || echo "?"; return; }
	go version -m "$1" 2>/dev/null | awk '$2 == "vcs.revision" { r = substr($3, 1, 7) } $2 == "vcs.modified" && $3 == "true" { d = "+dirty" } END { print (r ? r d : "?") }'
}
baseline_note=()
[ -n "$BASELINE" ] && baseline_note=(--note "native-before, line-before: the baseline padchatd $BASELINE ($(rev "$BASELINE" "${BASELINE_REV:-}"), sha256 $(sha256sum "$BASELINE" | cut -c1-12)); native, line: $PADCHATD ($(rev "$PADCHATD" "${PADCHATD_REV:-}"), sha256 $(sha256sum "$PADCHATD" | cut -c1-12))")
"$BENCH" report --in "$json" --md "$out.md" --svg "$out.svg" "${baseline_note[@]}" \
	--note "servers: padchatd ($(rev "$PADCHATD" "${PADCHATD_REV:-}")), $(ngircd --version 2>/dev/null | head -1 | cut -d- -f1), $(redis-server --version | cut -d' ' -f1-3), $(nats-server --version)" \
	--note "fan-out: $PUBS publishers, 100-byte messages, $DELIVERIES deliveries per run; flood: publishers send as fast as the server reads them (padchatd, Redis and NATS cut a client off at 256 MB queued); window: publishers at most $WINDOW messages ahead of the slowest subscriber; chat servers (padchatd, ngircd) need publishers in the room, so they also relay to the other publishers" \
	--note "pad B/delivery (native): the server's recv-pad bytes spent on the subscribers (padchatd /metrics, padchat_pad_bytes_left, before and after the measured phase) per delivered message" \
	--note "padchatd pads on ${pads[1]:-the disk of the data dir} (provisioning is not measured), store (bbolt, and the mail log for DMs: one write + fdatasync per loop iteration) on $(df --output=source "${TMPDIR:-/tmp}" | tail -1); Redis DMs use appendfsync always; NATS JetStream 2.9 acks before fsync" \
	--note "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs shared with other work: expect ±30% between runs, compare ratios" \
	--note "each figure is the median of $REPEAT runs (fan-out, latency, idle, DMs; lost: the worst run); whole comparison: $((SECONDS - start)) s"
echo "wrote $out.md and $out.svg" >&2
