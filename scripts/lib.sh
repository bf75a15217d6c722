# Shared by the scripts in this folder (sourced, not run): paths, messages, and where the tools are.
# A tool already on PATH (a user's own foundry, say) wins over the pinned npm copy.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${LEDGEROPS_DATA:-$ROOT/.ledgerops}"

log() { printf 'ledgerops: %s\n' "$*" >&2; }
die() { printf 'ledgerops: error: %s\n' "$*" >&2; exit 1; }

# npm_tool NAME: the path of the pinned foundry binary that npm unpacked, for this machine's arch.
npm_tool() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no pinned $1 for $(uname -m); install foundry and put $1 on PATH" ;;
  esac
  printf '%s\n' "$ROOT/node_modules/@foundry-rs/$1-linux-$arch/bin/$1"
}

# tool NAME: the foundry binary to run; PATH first, then the npm copy; dies naming what is missing.
tool() {
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
  local pinned
  pinned=$(npm_tool "$1")
  [ -x "$pinned" ] || die "$1 not found on PATH nor at $pinned; run scripts/setup"
  printf '%s\n' "$pinned"
}
forge_bin() { tool forge; }
anvil_bin() { tool anvil; }
cast_bin() { tool cast; }

# forge uses solc-js through our wrapper only when the machine has no native solc.
if [ -z "${FOUNDRY_SOLC:-}" ] && ! command -v solc >/dev/null 2>&1; then
  export FOUNDRY_SOLC="$ROOT/scripts/solc-js"
fi

# npm_ci DIR: installs DIR's pinned npm packages (npm ci) unless its node_modules is as new as its
# package-lock.json. npm does not run the packages' install scripts: foundry's only print hints,
# and Hardhat's one native module (keccak) falls back to JavaScript.
npm_ci() {
  local dir=$1 stamp="$1/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
    return
  fi
  command -v npm >/dev/null || die "npm is missing: install Node.js 20+ (it brings npm)"
  log "installing the pinned npm packages in ${dir/#"$ROOT"/.} (npm ci)"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 \
    || die "npm ci in $dir failed; the npm registry must be reachable"
}
