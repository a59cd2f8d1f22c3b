#!/bin/sh
# A file end to end through the real binaries: alice (piped) sends bob (--auto-accept) a file of
# SIZE bytes (default 200000000) through a fresh padchatd; prints the seconds from /send to bob's
# "received" (alice's sha256 pass over the file included) and each side's own figures.
# Usage: bench/files-e2e.sh [SIZE]   (after make build; BIN=dir for other binaries)
set -eu
BIN=${BIN:-bin}
SIZE=${1:-200000000}
W=$(mktemp -d)
D=; BOBIN=
trap 'kill $D $BOBIN 2>/dev/null || true; rm -rf "$W"' EXIT
head -c "$SIZE" /dev/urandom > "$W/file.bin"
"$BIN/padchatd" --data "$W/data" --listen 127.0.0.1:0 --log-level info 2> "$W/d.log" &
D=$!
for _ in $(seq 100); do grep -q '"addr"' "$W/d.log" 2>/dev/null && break; sleep 0.1; done
ADDR=$(grep -o '"addr":"[^"]*"' "$W/d.log" | head -1 | cut -d'"' -f4)
PAD=$(( SIZE / 1048576 + SIZE / 52428800 + 8 ))MiB
"$BIN/padchatd" user add alice --pad-size "$PAD" --server "$ADDR" --data "$W/data" >/dev/null 2>&1
"$BIN/padchatd" user add bob --pad-size "$PAD" --server "$ADDR" --data "$W/data" >/dev/null 2>&1
mkfifo "$W/bobin"
(sleep 3600 > "$W/bobin") &
BOBIN=$!
"$BIN/padchat" --bundle "$W/data/bundles/bob" --downloads "$W/down" --auto-accept "$PAD" < "$W/bobin" > "$W/bob.out" 2>&1 &
until grep -q "joined lobby" "$W/bob.out"; do sleep 0.05; done
T0=$(date +%s.%N)
printf '/send bob %s\n' "$W/file.bin" | "$BIN/padchat" --bundle "$W/data/bundles/alice" > "$W/alice.out" 2>&1 &
until grep -q "received file.bin" "$W/bob.out"; do sleep 0.02; done
T1=$(date +%s.%N)
grep -h -E "uploaded|received file" "$W/alice.out" "$W/bob.out"
cmp "$W/file.bin" "$W/down/file.bin"
echo "$SIZE bytes: $(echo "$T1 - $T0" | bc) s from /send to received"
