#!/bin/sh
# contrib/nats-server.sh DIR: print the path of DIR/nats-server, building it
# first from the module proxy (the version go.mod pins) when it is missing.
# make run-cluster, bench/cluster.sh and bench/compare.sh (NODES=…) use it.
set -eu
dir=$1
if [ ! -x "$dir/nats-server" ]; then
	echo "building nats-server v2.15.2 (module proxy) into $dir..." >&2
	mkdir -p "$dir"
	GOBIN=$(cd "$dir" && pwd) ${GO:-go} install github.com/nats-io/nats-server/v2@v2.15.2
fi
echo "$dir/nats-server"
