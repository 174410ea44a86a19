#!/usr/bin/env bash
# The release console's first paint from the disk cache with 10,000 instances (goal ≤ 100 ms).
#
#   cargo build --release && scripts/first-paint.sh
#
# One console run against `fleetdeck sim --instances 10000` fills the cache; the simulator is
# then stopped, so in the timed runs only the cache can show the fleet. Each timed run starts the
# console in a detached tmux pane (160×45) and polls the pane every 5 ms until a row of the
# cached fleet ("Online") shows. The reference, same run: the same start with no cache file, until
# the first frame (the tab bar's "Fleet") shows. Both include starting the process and tmux's
# own latency, so they are upper bounds. RUNS sets the count (default 5).
set -euo pipefail

RUNS=${RUNS:-5}
INSTANCES=${INSTANCES:-10000}
SOCK="fleetdeck-paint-$$"
# shellcheck source=scripts/sim-env.sh
source "$(dirname "$0")/sim-env.sh"

pane() { tmux -L "$SOCK" capture-pane -p -t p 2>/dev/null || true; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Starts the console and prints the milliseconds until the pane shows $1.
paint() {
  local t0 t1
  # A fresh tmux server per run: reusing the socket races the previous server's exit.
  # (paint runs in a subshell: $BASHPID, not a counter, tells the runs apart.)
  SOCK="fleetdeck-paint-$$-$BASHPID"
  t0=$(now_ms)
  tmux -L "$SOCK" -f /dev/null new-session -d -s p -x 160 -y 45 "${run_env[@]}" "$BIN" "${FLAGS[@]}"
  for _ in $(seq 2000); do pane | grep -q -- "$1" && break; sleep 0.005; done
  t1=$(now_ms)
  pane | grep -q -- "$1" || {
    echo "the pane never showed '$1':" >&2; pane >&2; tmux -L "$SOCK" kill-server 2>/dev/null; exit 1
  }
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  echo $((t1 - t0))
}

# Fill the cache: one run until the file exists and holds the fleet.
tmux -L "$SOCK" -f /dev/null new-session -d -s p -x 160 -y 45 "${run_env[@]}" "$BIN" "${FLAGS[@]}"
for _ in $(seq 600); do
  ls "$WORK"/.cache/fleetdeck/*.json >/dev/null 2>&1 && pane | grep -q "Fleet $INSTANCES" && break
  sleep 0.1
done
tmux -L "$SOCK" kill-server 2>/dev/null || true
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=
CACHE=$(ls "$WORK"/.cache/fleetdeck/*.json)
echo "cache file: $(du -k "$CACHE" | cut -f1) kB, $INSTANCES instances"

cached=(); empty=()
for _ in $(seq "$RUNS"); do
  cached+=("$(paint Online)")
  mv "$CACHE" "$CACHE.away"
  empty+=("$(paint Fleet)")
  mv "$CACHE.away" "$CACHE"
done
echo "first paint of the cached fleet, ms: ${cached[*]}"
echo "first frame with no cache (reference), ms: ${empty[*]}"
