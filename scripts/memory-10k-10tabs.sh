#!/usr/bin/env bash
# Resident memory of the console with 10,000 instances and 10 open shell tabs (goal ≤ 150 MB).
#
#   cargo build --release && scripts/memory-10k-10tabs.sh
#
# Starts `fleetdeck sim --instances 10000` (two regions), runs the release console against it in a
# detached tmux pane (200×50, scratch HOME, no cache), waits for the table, opens a shell tab on
# each of 10 Online Linux hosts (/ id Enter, Enter, wait for the remote prompt, print 20,000
# lines into it, Ctrl-] 1 back),
# and prints VmRSS and VmHWM of the console's process from /proc, before and after the tabs.
# FLEETDECK_BIN overrides the binary (default: $CARGO_TARGET_DIR or target, release).
set -euo pipefail

TABS=${TABS:-10}
INSTANCES=${INSTANCES:-10000}
SOCK="fleetdeck-mem-$$"
# shellcheck source=scripts/sim-env.sh
source "$(dirname "$0")/sim-env.sh"

# Hosts a shell can open on: Online, Linux, from the same inventory the console will show.
mapfile -t IDS < <("${run_env[@]}" "$BIN" "${FLAGS[@]}" list -o json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
ok = [r["instance_id"] for r in rows
      if r["ping_status"] == "Online" and "Windows" not in (r.get("platform") or "")
      and r["instance_id"].startswith("i-")]
print("\n".join(ok[:int(sys.argv[1])]))' "$TABS")

tmux -L "$SOCK" -f /dev/null new-session -d -s m -x 200 -y 50 \
  "${run_env[@]}" TERM=xterm-256color "$BIN" "${FLAGS[@]}"
PID=$(tmux -L "$SOCK" list-panes -t m -F '#{pane_pid}')
pane() { tmux -L "$SOCK" capture-pane -p -t m; }
wait_for() { # what, grep pattern
  for _ in $(seq 600); do pane | grep -q -- "$2" && return 0; sleep 0.1; done
  echo "timed out waiting for $1; the pane shows:" >&2; pane >&2; exit 1
}
mem() { grep -E '^(VmRSS|VmHWM)' "/proc/$PID/status" | tr -s ' \t' ' ' | paste -sd' '; }

wait_for "the fleet table" "Online"
# Let the refresh finish (the flash names the count read) before measuring.
sleep 2
echo "fleet of $INSTANCES, no tabs: $(mem)"

n=0
for id in "${IDS[@]}"; do
  tmux -L "$SOCK" send-keys -t m /
  tmux -L "$SOCK" send-keys -t m -l "$id"
  tmux -L "$SOCK" send-keys -t m Enter Enter
  wait_for "the prompt in the tab on $id" "ssm-user@"
  # Some output in every tab, more than a screen: the scrollback holds it.
  tmux -L "$SOCK" send-keys -t m -l "seq -f 'line %g of the scrollback' 1 20000"
  tmux -L "$SOCK" send-keys -t m Enter
  wait_for "the output in the tab on $id" "line 20000 of the scrollback"
  tmux -L "$SOCK" send-keys -t m C-] 1
  for _ in $(seq 100); do pane | grep -q "ssm-user@" || break; sleep 0.1; done
  tmux -L "$SOCK" send-keys -t m Escape
  n=$((n + 1))
done
sleep 1
echo "fleet of $INSTANCES, $n shell tabs (20,000 lines of output each): $(mem)"
echo "tab bar: $(pane | grep -m1 -E '^ ?1' || true)"
