# Sourced by scripts/demo and scripts/test: makes sure pnpm and the dependencies are installed and
# the packages are built, so each of those is one command on a fresh machine.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v pnpm >/dev/null 2>&1; then
  version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
  echo "armada: installing pnpm ${version} (npm install --global)" >&2
  npm install --global "pnpm@${version}" >/dev/null
fi
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  pnpm install --frozen-lockfile
fi
pnpm --silent build >/dev/null
