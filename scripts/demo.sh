#!/usr/bin/env bash
# The `make demo` walk-through: builds the example provider and consumer
# into ./bin, starts the provider in the background on its defaults (the
# sample database of 1,000,000 taxi trips, generated once into the cache
# directory; the default socket), runs consumer commands against it (a
# table, CSV, a full scan summary, a watch that hears an insert and a
# delete), then stops the provider with SIGTERM, which removes its socket.
#
# A trap makes sure that however the script ends (an error, Ctrl-C) no
# process it started is left running.
#
# Environment: GO (the go command, default go), ROWS (trips in the sample
# database, default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
ROWS=${ROWS:-1000000}
BIN=bin
LOG=$BIN/provider.log
start_ns=$(date +%s%N)

provider_pid=
watch_pid=
tmp=$(mktemp -d)

# stop ends a process we started: SIGTERM, five seconds' grace, then
# SIGKILL (and killed=1).
killed=0
stop() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	killed=1
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop "$watch_pid"
	if [ -n "$provider_pid" ] && kill -0 "$provider_pid" 2>/dev/null; then
		echo "demo: stopping the provider (pid $provider_pid)" >&2
		killed=0
		stop "$provider_pid"
		if [ "$killed" = 1 ] && [ -S "${sock:-}" ]; then
			rm -f "$sock" # it had no chance to remove its socket
		fi
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # the EXIT trap cleans up

# show prints a command the way one would type it, then runs it.
show() {
	local line='$' a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_.,=/:-]+$ ]]; then line+=" $a"; else line+=" '$a'"; fi
	done
	printf '\n%s\n' "$line"
}
consumer() {
	show consumer "$@"
	"$BIN/consumer" "$@"
}

echo "demo: building $BIN/provider and $BIN/consumer"
mkdir -p "$BIN"
(cd examples && "$GO" build -o "../$BIN/" ./provider ./consumer) # examples/ is a module of its own

sock=$("$BIN/provider" --print-socket)
if "$BIN/consumer" tables >/dev/null 2>&1; then
	echo "demo: a provider is already listening on $sock; stop it first" >&2
	exit 1
fi

provider_args=()
[ "$ROWS" = 1000000 ] || provider_args=(--rows "$ROWS")
echo "demo: starting the provider in the background (log: $LOG); the first run generates the sample database"
"$BIN/provider" "${provider_args[@]}" 2>"$LOG" &
provider_pid=$!
for i in $(seq 1200); do
	if ! kill -0 "$provider_pid" 2>/dev/null; then
		wait "$provider_pid" || true
		provider_pid=
		echo "demo: the provider failed to start:" >&2
		cat "$LOG" >&2
		exit 1
	fi
	"$BIN/consumer" tables >/dev/null 2>&1 && break
	[ "$i" -lt 1200 ] || { echo "demo: the provider is not listening after 120s" >&2; exit 1; }
	sleep 0.1
done
sed 's/^/provider| /' "$LOG"
log_lines=$(wc -l <"$LOG")

consumer tables
consumer query trips --columns id,started_at,city,distance_km,duration_s,fare,tip \
	--where 'city = ? AND fare > ?' --arg Lisbon --arg 50 --order 'fare DESC' --limit 5
consumer query trips --where 'id <= ?' --arg 3 --format csv
consumer scan trips
# The same query again: the provider hands out the sealed windows it
# cached, shared by every consumer of the query; SQLite is not read.
printf "\n\$ consumer scan trips | sed -n 1,6p   # again: served from the shared windows\n"
"$BIN/consumer" scan trips | sed -n 1,6p

printf '\n$ consumer watch trips --count 2 &\n'
"$BIN/consumer" watch trips --count 2 --timeout 30s >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
for _ in $(seq 100); do
	grep -q watching "$tmp/watch.err" 2>/dev/null && break
	sleep 0.05
done
cat "$tmp/watch.err"
consumer insert trips city=Lisbon distance_km=3.2 duration_s=540 fare=7.9
consumer query trips --where 'id > ?' --arg "$ROWS" --columns id,city,distance_km,fare,passengers,tip
consumer delete trips --where 'id > ?' --arg "$ROWS"
wait "$watch_pid"
watch_pid=
printf "\n(the watch, in the background, printed:)\n"
cat "$tmp/watch.out"

# Writes at scale: a thousand rows exported as CSV and loaded back as new
# trips in one bulk insert (the rows travel in shared-memory windows; the
# provider inserts them in one transaction), then removed again.
printf "\n\$ consumer query trips --where 'id <= ?' --arg 1000 --columns city,distance_km,duration_s,passengers,fare,tip --format csv > trips.csv\n"
"$BIN/consumer" query trips --where 'id <= ?' --arg 1000 --columns city,distance_km,duration_s,passengers,fare,tip --format csv >"$tmp/trips.csv"
printf '\n$ consumer insert trips --from trips.csv\n'
"$BIN/consumer" insert trips --from "$tmp/trips.csv"
consumer delete trips --where 'id > ?' --arg "$ROWS"

printf '\n$ kill -TERM %s   # the provider\n' "$provider_pid"
kill -TERM "$provider_pid"
status=0
wait "$provider_pid" || status=$?
provider_pid=
tail -n +"$((log_lines + 1))" "$LOG" | sed 's/^/provider| /'
if [ "$status" -ne 0 ]; then
	echo "demo: the provider exited with status $status" >&2
	exit 1
fi
if [ -e "$sock" ]; then
	echo "demo: the provider left its socket $sock behind" >&2
	exit 1
fi

status=0
consumer tables || status=$?
echo "(exit status $status)"
[ "$status" -eq 3 ]

end_ns=$(date +%s%N)
printf '\ndemo: done in %.1fs\n' "$(((end_ns - start_ns) / 1000000))e-3"
