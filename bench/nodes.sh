# Sourced by compare.sh and cluster.sh: the one definition of NODES, the node
# counts a fan-out runs over.
#   0: one standalone padchatd, no NATS (label native: compare.sh runs it anyway as TARGETS native)
#   N > 0: N padchatd nodes of one cluster over one NATS server with JetStream, started fresh by
#     padchat-bench, the subscribers and publishers spread round-robin over them (label cluster-N)
# NATS_SERVER: the nats-server binary; unset, and NODES holding a cluster, it is built from the
# module proxy into var/cluster/ (as make run-cluster does) now, before any run is timed.
for nodes_n in ${NODES:-}; do
	if ((nodes_n > 0)); then
		NATS_SERVER=${NATS_SERVER:-$(contrib/nats-server.sh var/cluster)}
		break
	fi
done

# node_flags N: sets nodes_args to padchat-bench's flags for a run over N nodes.
node_flags() {
	if (($1 == 0)); then
		nodes_args=(--label native)
		return
	fi
	nodes_args=(--label "cluster-$1" --nodes "$1" --nats-server "$NATS_SERVER")
}
