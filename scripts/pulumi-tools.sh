#!/usr/bin/env bash
# Gets the real Pulumi tools, pinned, for the rehearsal, the tests, CI and users: the CLI at the version of
# @pulumi/pulumi in package.json (or newer), its Node.js language host, and the command provider plugin at the
# version of @pulumi/command. In this order:
#   1. a CLI already there at a version >= the pinned one: $PULUMI_ROOT/bin/pulumi, then this script's own
#      install root $PULUMI_HOME/versions/<v>/bin/pulumi (an earlier run's build), then `pulumi` on PATH;
#   2. else it is built from the Go modules (the wrapper module tools/pulumi, Go's own GOCACHE and GOMODCACHE
#      under $HOME, so it is built once and kept) into $PULUMI_HOME/versions/<v>/bin/pulumi: the directory that
#      the Automation API's PulumiCommand.install and the npm launcher `pulumi` look in. Then, beside it, the
#      language host pulumi-language-nodejs, and the plugin pulumi-resource-command (`pulumi plugin install
#      --file`); a module the Go module proxy refuses is reported in one line and skipped;
#   3. else (no Go, or the build failed) the npm launcher `pulumi`, which DOWNLOADS the CLI from get.pulumi.com
#      into the same directory: the last resort, for a machine with internet;
#   4. else one error naming what to install.
# Idempotent (present tools are kept), resumable (everything is built under a temporary name and renamed),
# one run at a time (flock, where there is one). $PULUMI_HOME defaults to ~/.pulumi.
#
#   bash scripts/pulumi-tools.sh               get what is missing; print the CLI's path and `pulumi version`
#   bash scripts/pulumi-tools.sh --print-root  the same, but only the root (the directory holding bin/pulumi)
#                                              on stdout, progress on stderr: PULUMI_ROOT=$(bash ... --print-root)
#   bash scripts/pulumi-tools.sh --check       only report what is there and what would be done; build nothing.
#                                              Exit 0: a CLI is there; 3: none, but this script would get one;
#                                              1: none, and no way to get one
# For the tests: PULUMI_TOOLS_GO and PULUMI_TOOLS_NPX name the go and npx to use (a missing path: none).
set -euo pipefail

check=false print_root=false
for arg in "$@"; do
  case $arg in
    --check) check=true ;;
    --print-root) print_root=true ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "pulumi-tools: unknown argument: $arg (--check, --print-root)" >&2; exit 2 ;;
  esac
done
# With --print-root, everything but the root goes to stderr: fd 3 is the real stdout.
exec 3>&1
if $print_root; then exec 1>&2; fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$SECONDS
log() { echo "== pulumi-tools: $*"; }
# The modules and what is pinned of them besides package.json. The language host and the command provider have
# no release tags of their own that the proxy knows: their versions are the pseudo-versions of the release commits.
CLI_PKG=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
SDK_VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
NODEJS_MOD=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
declare -A NODEJS_PSEUDO=([3.248.0]=v3.0.0-20260624120734-a88168d865b7)
COMMAND_MOD=github.com/pulumi/pulumi-command/provider
COMMAND_PKG=$COMMAND_MOD/cmd/pulumi-resource-command
COMMAND_VERSION_VAR=$COMMAND_MOD/pkg/version.Version
declare -A COMMAND_PSEUDO=([1.2.1]=v0.0.0-20260303235922-7f3eb6f3b77c)
# The npm launcher has no 3.248.0; any launcher runs the CLI version that PULUMI_VERSION names.
NPM_LAUNCHER=pulumi@3.250.0
export PULUMI_SKIP_UPDATE_CHECK=true

npm_version() { sed -n "s|^ *\"$1\": *\"\\([^\"]*\\)\".*|\\1|p" "$repo/package.json" | head -n 1; }
pin=$(npm_version @pulumi/pulumi)
command_pin=$(npm_version @pulumi/command)
if [[ ! $pin =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "pulumi-tools: package.json: @pulumi/pulumi is '$pin', not an exact version" >&2
  exit 1
fi
home=${PULUMI_HOME:-${HOME:?}/.pulumi}
own_root=$home/versions/$pin
plugin_dir=$home/plugins/resource-command-v$command_pin

# version_ge A B: is version A >= version B (numeric major.minor.patch; a missing part is 0, a suffix is dropped)?
version_ge() {
  local IFS=. i
  local -a a b
  read -ra a <<<"${1%%[!0-9.]*}"
  read -ra b <<<"${2%%[!0-9.]*}"
  for i in 0 1 2; do
    if ((10#${a[i]:-0} != 10#${b[i]:-0})); then ((10#${a[i]:-0} > 10#${b[i]:-0})); return; fi
  done
}

temps=()
on_exit() { if ((${#temps[@]})); then rm -rf "${temps[@]}"; fi; }
trap on_exit EXIT

# usable PATH: is PATH a CLI at a version >= the pin, in a bin/ directory (PulumiCommand takes <root>/bin/pulumi)?
# Sets cli and cli_version.
usable() {
  local out v
  [[ -x $1 && ! -d $1 ]] || return 1
  if ! out=$("$1" version 2>/dev/null); then log "$1: \`pulumi version\` failed: not used"; return 1; fi
  out=${out%%$'\n'*} v=${out#v}
  if [[ ! $v =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]; then log "$1: version '$out' not understood: not used"; return 1; fi
  if ! version_ge "$v" "$pin"; then log "$1 is $out, older than $pin: not used"; return 1; fi
  if [[ $(basename "$(dirname "$1")") != bin ]]; then log "$1 ($out) is not in a bin/ directory: not used"; return 1; fi
  cli=$1 cli_version=$out
}

find_cli() {
  local c
  for c in ${PULUMI_ROOT:+"$PULUMI_ROOT/bin/pulumi"} "$own_root/bin/pulumi" "$(type -P pulumi || true)"; do
    if [[ -n $c ]] && usable "$c"; then return 0; fi
  done
  return 1
}

# find_go: sets go and go_version when a Go that can build tools/pulumi is there.
gomod=$repo/tools/pulumi/go.mod
go_min=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")
find_go() {
  go=${PULUMI_TOOLS_GO-}
  if [[ -z $go ]]; then go=$(type -P go || true); fi
  if [[ -z $go && -x /usr/local/go/bin/go ]]; then go=/usr/local/go/bin/go; fi
  if [[ -z $go || ! -x $go ]]; then log "no Go${go:+ at $go}"; return 1; fi
  local env
  if ! env=$("$go" env GOVERSION GOTOOLCHAIN); then log "$go does not run: not used"; return 1; fi
  go_version=${env%%$'\n'*} go_version=${go_version#go}
  local toolchain=${env#*$'\n'}
  if ! version_ge "$go_version" 1.24; then log "$go is Go $go_version, older than 1.24 (the tool directive): not used"; return 1; fi
  if ! version_ge "$go_version" "$go_min"; then
    if [[ $toolchain == local ]]; then log "$go is Go $go_version, older than $go_min (tools/pulumi/go.mod) and GOTOOLCHAIN=local: not used"; return 1; fi
    log "$go is Go $go_version: it fetches Go $go_min itself (GOTOOLCHAIN=$toolchain)"
  fi
  local gomod_pin
  gomod_pin=$(sed -n 's|^[[:space:]]*github.com/pulumi/pulumi/pkg/v3 v\([^ ]*\).*|\1|p' "$gomod")
  if [[ $gomod_pin != "$pin" ]]; then
    log "tools/pulumi/go.mod has pkg/v3 v$gomod_pin but package.json's @pulumi/pulumi is $pin: not building" \
      "(cd tools/pulumi && go get github.com/pulumi/pulumi/pkg/v3@v$pin github.com/pulumi/pulumi/sdk/v3@v$pin && go mod tidy)"
    return 1
  fi
}

find_npx() {
  npx=${PULUMI_TOOLS_NPX-}
  if [[ -z $npx ]]; then npx=$(type -P npx || true); fi
  if [[ -z $npx || ! -x $npx ]]; then log "no npx${npx:+ at $npx}"; return 1; fi
}

failed=()
fail_none() {
  local why="no way to get one here" f tried=""
  for f in "${failed[@]}"; do tried+="${tried:+ and }$f"; done
  if [[ -n $tried ]]; then why="$tried failed (above)"; fi
  echo "pulumi-tools: no Pulumi CLI >= $pin, and $why. Install Go >= $go_min (https://go.dev/dl/)" \
    "and run this script again to build it, or install a Pulumi CLI >= $pin (https://www.pulumi.com/docs/install/)" \
    "and put it on PATH (or set PULUMI_ROOT to the directory holding its bin/pulumi)." >&2
  exit 1
}

# refused LOG: did the Go module proxy refuse a module in that go command's output?
refused() { grep -qE "(403 Forbidden|404 Not Found|410 Gone|not available)" "$1"; }
log_tail() { tail -n 5 "$1" | sed 's/^/    /'; }

build_cli() {
  local bin=$own_root/bin tmp t0=$SECONDS
  mkdir -p "$bin"
  tmp=$(mktemp -d "$bin/.build.XXXXXX") && temps+=("$tmp")
  log "building pulumi v$pin ($CLI_PKG, tools/pulumi) with Go $go_version into $bin:" \
    "about 5 min on 2 cores the first time, seconds once Go's caches hold it"
  if ! (cd "$repo/tools/pulumi" && "$go" build -mod=mod -ldflags "-X $SDK_VERSION_VAR=v$pin" -o "$tmp/pulumi" "$CLI_PKG"); then
    log "the build of pulumi v$pin failed (above)"
    failed+=("the build with Go $go_version")
    return 1
  fi
  mv -f "$tmp/pulumi" "$bin/pulumi"
  log "built $bin/pulumi: took $((SECONDS - t0)) s"
  usable "$bin/pulumi"
}

build_language_host() {
  local bin=$own_root/bin ver=${NODEJS_PSEUDO[$pin]:-v$pin} w t0=$SECONDS
  w=$(mktemp -d) && temps+=("$w")
  # A copy of the wrapper module with the language host added, so tools/pulumi stays buildable while the
  # proxy refuses it. Its go.mod requires pkg/v3 at a placeholder version: every version is the pinned one.
  cp "$repo/tools/pulumi/go.mod" "$repo/tools/pulumi/go.sum" "$w/"
  if ! (cd "$w" &&
    "$go" mod edit -replace "github.com/pulumi/pulumi/pkg/v3=github.com/pulumi/pulumi/pkg/v3@v$pin" \
      -replace "github.com/pulumi/pulumi/sdk/v3=github.com/pulumi/pulumi/sdk/v3@v$pin" &&
    "$go" get -tool "$NODEJS_MOD@$ver" &&
    "$go" build -mod=mod -ldflags "-X $SDK_VERSION_VAR=v$pin" -o "$w/out/pulumi-language-nodejs" "$NODEJS_MOD") >"$w/log" 2>&1; then
    if refused "$w/log"; then
      log "the Go module proxy refused $NODEJS_MOD@$ver: no pulumi-language-nodejs (the Automation API's inline programs need no language host; \`pulumi up\` in a program's directory does)"
    else
      log "the build of pulumi-language-nodejs failed; going on without it (the Automation API's inline programs need none):"
      log_tail "$w/log"
    fi
    return 0
  fi
  mv -f "$w/out/pulumi-language-nodejs" "$bin/pulumi-language-nodejs"
  log "built $bin/pulumi-language-nodejs: took $((SECONDS - t0)) s"
}

install_command_plugin() {
  local ver=${COMMAND_PSEUDO[$command_pin]-} w t0=$SECONDS
  if [[ -z $ver ]]; then
    log "no pseudo-version of $COMMAND_MOD is known for @pulumi/command $command_pin (COMMAND_PSEUDO in this script): no command plugin"
    return 0
  fi
  w=$(mktemp -d) && temps+=("$w")
  if ! (cd "$w" && GOBIN=$w/bin "$go" install -ldflags "-X $COMMAND_VERSION_VAR=$command_pin" "$COMMAND_PKG@$ver") >"$w/log" 2>&1; then
    if refused "$w/log"; then
      log "the Go module proxy refused $COMMAND_MOD@$ver: no real command plugin $command_pin (the rehearsal uses its stand-in command plugin; a real \`pulumi up\` downloads the plugin from get.pulumi.com)"
    else
      log "the build of pulumi-resource-command failed; going on without it:"
      log_tail "$w/log"
    fi
    return 0
  fi
  PULUMI_HOME=$home "$cli" plugin install resource command "$command_pin" --file "$w/bin/pulumi-resource-command"
  log "installed $plugin_dir/pulumi-resource-command: took $((SECONDS - t0)) s"
}

npx_launcher() {
  log "falling back to the npm launcher $NPM_LAUNCHER: it DOWNLOADS pulumi v$pin from get.pulumi.com into $own_root" \
    "(the last resort: it needs a machine with internet)"
  if ! PULUMI_HOME=$home PULUMI_VERSION=$pin "$npx" --yes "$NPM_LAUNCHER" version; then
    log "the npm launcher failed"
    failed+=("the npm launcher")
    return 1
  fi
  usable "$own_root/bin/pulumi"
}

language_host() {
  local beside
  beside=$(dirname "$cli")/pulumi-language-nodejs
  if [[ -x $beside ]]; then echo "$beside"; else type -P pulumi-language-nodejs || true; fi
}

report_extras() {
  local lh
  lh=$(language_host)
  if [[ -z $lh ]]; then lh="none (the Automation API's inline programs need none)"; fi
  log "language host: $lh"
  if [[ -x $plugin_dir/pulumi-resource-command ]]; then
    log "command plugin: $plugin_dir/pulumi-resource-command"
  else
    log "command plugin: none in $plugin_dir"
  fi
}

if $check; then
  if find_cli; then
    log "present: $cli ($cli_version)"
    report_extras
    if $print_root; then dirname "$(dirname "$cli")" >&3; fi
    exit 0
  fi
  if find_go; then
    log "missing: would build pulumi v$pin with Go $go_version ($go) into $own_root/bin"
    exit 3
  fi
  if find_npx; then
    log "missing: would run the npm launcher $NPM_LAUNCHER ($npx), which downloads pulumi v$pin into $own_root/bin"
    exit 3
  fi
  fail_none
fi

mkdir -p "$home/versions"
if command -v flock >/dev/null; then
  exec 9>"$home/versions/.pulumi-tools.lock"
  flock -w 1800 9 || { echo "pulumi-tools: another run still holds $home/versions/.pulumi-tools.lock" >&2; exit 1; }
fi

have_go=false
if find_cli; then
  log "using $cli ($cli_version)"
  if find_go; then have_go=true; fi
elif find_go && have_go=true && build_cli; then
  :
elif find_npx && npx_launcher; then
  :
else
  fail_none
fi

if $have_go; then
  if [[ -n $(language_host) ]]; then
    :
  elif [[ $cli == "$own_root/bin/pulumi" ]]; then
    build_language_host
  else
    log "no pulumi-language-nodejs beside $cli, and it is not this script's to add to"
  fi
  if [[ ! -x $plugin_dir/pulumi-resource-command ]]; then install_command_plugin; fi
else
  log "no Go: no language host or command plugin built"
fi

report_extras
log "CLI: $cli"
log "pulumi version: $("$cli" version)"
log "done in $((SECONDS - started)) s"
if $print_root; then dirname "$(dirname "$cli")" >&3; fi
