#!/bin/sh
# make run-cluster: a NATS server (JetStream) and three padchatd nodes on this
# machine, with demo users alice, bob and carol whose pads every node holds.
# Everything lives under ${DIR:-var/cluster}; Ctrl-C stops it all.
# The NATS server is built from the module proxy (the same version go.mod pins).
# Loopback only, so no TLS here; docs/CLUSTER.md says what to add between machines.
set -eu
GO=${GO:-go}
BIN=${BIN:-bin}
DIR=${DIR:-var/cluster}
NATS_PORT=${NATS_PORT:-4222}
mkdir -p "$DIR"
GO=$GO contrib/nats-server.sh "$DIR" >/dev/null
if [ ! -d "$DIR/master/users" ]; then
	for u in alice bob carol; do
		"$BIN/padchatd" user add --data "$DIR/master" --pad-size 8MiB --server 127.0.0.1:7071 "$u" >/dev/null 2>&1
	done
	for n in 1 2 3; do
		mkdir -p "$DIR/n$n"
		cp -r "$DIR/master/users" "$DIR/n$n/"
	done
fi
pids=""
trap 'kill $pids 2>/dev/null; wait' INT TERM EXIT
"$DIR/nats-server" -js -sd "$DIR/js" -a 127.0.0.1 -p "$NATS_PORT" --user padchat --pass demo >"$DIR/nats.log" 2>&1 &
pids="$pids $!"
sleep 1
for n in 1 2 3; do
	"$BIN/padchatd" --data "$DIR/n$n" --listen "127.0.0.1:707$n" --node "n$n" \
		--nats "nats://padchat:demo@127.0.0.1:$NATS_PORT" >"$DIR/n$n.log" 2>&1 &
	pids="$pids $!"
done
sleep 1
cat <<MSG
three nodes on 127.0.0.1:7071, :7072, :7073 (logs in $DIR/*.log); try, in three terminals:
  $BIN/padchat --bundle $DIR/master/bundles/alice --server 127.0.0.1:7071
  $BIN/padchat --bundle $DIR/master/bundles/bob   --server 127.0.0.1:7072
  $BIN/padchat --bundle $DIR/master/bundles/carol --server 127.0.0.1:7073
and /join ops in each. Ctrl-C stops the cluster.
MSG
wait
