# Sourced by the measurement scripts: a scratch HOME with no AWS profile, `fleetdeck sim` with
# $INSTANCES instances over two regions, and what the scripts need to run the console against it:
# BIN, WORK, run_env (the environment), ENDPOINT, FLAGS, SIM_PID. The caller sets SOCK (its tmux
# socket) first; everything is stopped and removed on exit.

BIN=${FLEETDECK_BIN:-${CARGO_TARGET_DIR:-target}/release/fleetdeck}
[ -x "$BIN" ] || { echo "no binary at $BIN: run cargo build --release first" >&2; exit 1; }

WORK=$(mktemp -d)
SIM_PID=
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/.aws"
: > "$WORK/.aws/config"
: > "$WORK/.aws/credentials"
run_env=(env -u AWS_PROFILE HOME="$WORK" XDG_CONFIG_HOME="$WORK/.config" XDG_CACHE_HOME="$WORK/.cache"
  AWS_CONFIG_FILE="$WORK/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$WORK/.aws/credentials"
  AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  TERM=xterm-256color)

"${run_env[@]}" "$BIN" sim --instances "$INSTANCES" > "$WORK/sim.out" 2>/dev/null &
SIM_PID=$!
for _ in $(seq 100); do [ -s "$WORK/sim.out" ] && break; sleep 0.1; done
ENDPOINT=$(head -1 "$WORK/sim.out")
FLAGS=(--endpoint-url "$ENDPOINT" --region us-east-1 --region eu-west-1)
