# Shared set-up of the scripts that build binaries from the Go module proxy into the cache.
# Sourced as `source go-build-env.sh LOG_NAME DIR_PREFIX VERSION_VAR`: the output folder is
# DIR_PREFIX followed by the value of VERSION_VAR from versions.env (e.g. k8s-v K8S_VERSION).
# Sets: here, cache_root, out_dir, bin_dir, work_dir, log(); exports the Go build settings.
# shellcheck shell=bash
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${HDH_CACHE_DIR:-$HOME/.cache/hdh-operator}"
out_dir="${OUT_DIR:-$cache_root/$2${!3}}"
bin_dir="$out_dir/bin"
work_dir="$cache_root/build"
mkdir -p "$bin_dir" "$work_dir"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
# Never switch Go toolchains behind the user's back; the pinned versions build with Go >= 1.26.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

build_log_name="$1"
build_start=$(date +%s)
log() { printf '[%s +%4ss] %s\n' "$build_log_name" "$(( $(date +%s) - build_start ))" "$*" >&2; }

# One build per output folder at a time: test runs started together (each one's set-up builds
# what is missing) wait for the first build and then find its binaries, instead of compiling the
# same thing side by side into the same files.
exec {build_lock_fd}>"$out_dir/.build.lock"
if ! flock -n "$build_lock_fd"; then
  log "another build of $out_dir is running: waiting for it"
  flock "$build_lock_fd"
fi
