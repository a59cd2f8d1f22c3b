#!/usr/bin/env bash
# Fan-out with the subscribers spread over 1, 2 and 3 padchatd nodes of one
# cluster (NATS JetStream), beside one standalone padchatd, in one run (make bench-cluster).
#
# The workload is compare.sh's fan-out (4 publishers, 100-byte messages,
# DELIVERIES per run, flood and windowed), the subscribers and publishers
# spread round-robin over the nodes. padchat-bench starts a NATS server and the
# nodes fresh for each run, on 127.0.0.1 without TLS, and stops them after.
# Writes bench/results/<date>-cluster.{jsonl,md}. Knobs (environment):
#   NODES="0 1 2 3" and NATS_SERVER: as bench/nodes.sh defines them  SUBS=200  MODES="flood window"  REPEAT=3
#   BENCH=bin/padchat-bench  PADCHATD=bin/padchatd  DELIVERIES=1000000  OUT=bench/results/<date>-cluster
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=${BENCH:-bin/padchat-bench}
PADCHATD=${PADCHATD:-bin/padchatd}
NODES=${NODES:-0 1 2 3}
SUBS=${SUBS:-200}
MODES=${MODES:-flood window}
REPEAT=${REPEAT:-3}
PUBS=4
WINDOW=256
DELIVERIES=${DELIVERIES:-1000000}
. bench/nodes.sh

for b in "$BENCH" "$PADCHATD"; do
	[ -x "$b" ] || { echo "cluster.sh: $b missing: run make build" >&2; exit 1; }
done
need=$((2 * SUBS + 256))
if (($(ulimit -n) < need)); then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	(($(ulimit -n) >= need)) || { echo "cluster.sh: ulimit -n is $(ulimit -n), $need needed" >&2; exit 1; }
fi

mkdir -p bench/results
out=${OUT:-bench/results/$(date -u +%Y-%m-%d)-cluster}
json=$out.jsonl
: >"$json"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$SECONDS
msgs=$((DELIVERIES / (SUBS * PUBS)))
# Interleaved: every node count once per round, so a busy minute on the
# shared machine hits them all alike.
for ((rep = 1; rep <= REPEAT; rep++)); do
	for mode in $MODES; do
		window=(--window "$WINDOW")
		[ "$mode" = flood ] && window=(--flood)
		for n in $NODES; do
			node_flags "$n"
			"$BENCH" fanout --target native "${nodes_args[@]}" \
				--padchatd "$PADCHATD" --conf bench --json "$json" --stall 15s --quiet \
				--subs "$SUBS" --pubs "$PUBS" --msgs "$msgs" --size 100 "${window[@]}" ||
				echo "cluster.sh: run failed: $n nodes, $mode" >&2
		done
	done
done
"$BENCH" report --in "$json" --md "$out.md" \
	--note "servers: padchatd ($(git rev-parse --short HEAD 2>/dev/null || echo ?)), $(if [ -n "${NATS_SERVER:-}" ]; then "$NATS_SERVER" --version; else echo "no NATS"; fi) with JetStream (history and mail streams, default sync), no TLS on loopback" \
	--note "fan-out: $SUBS subscribers, $PUBS publishers × $msgs messages of 100 B per run, spread round-robin over the nodes (native: one standalone padchatd without NATS); --history 100 (default): every room message also goes into the history stream" \
	--note "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs shared with other work" \
	--note "each figure is the median of $REPEAT runs (lost: the worst run); whole run: $((SECONDS - start)) s"
echo "wrote $out.md" >&2
