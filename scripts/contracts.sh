#!/usr/bin/env bash
# Builds and tests ply's L1 contracts (the Foundry project in contracts/).
#
#   scripts/contracts.sh build    compile with forge and refresh the checked-in artifacts in
#                                 crates/contracts/artifacts/<Name>.json (abi, bytecode,
#                                 deployedBytecode: what the Rust bindings are generated from)
#   scripts/contracts.sh check    compile into a temporary directory and fail if the checked-in
#                                 artifacts differ from the fresh ones (changes nothing)
#   scripts/contracts.sh test [forge test args...]
#                                 run the forge tests; exits non-zero when one fails
#
# Tools come from node_modules (run `npm ci` in the repository root first): forge from
# @foundry-rs/forge, and solc-js, which forge uses as its compiler through contracts/solc-js.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
CONTRACTS="$ROOT/contracts"
ARTIFACTS="$ROOT/crates/contracts/artifacts"
SOLC="$CONTRACTS/solc-js"

die() {
    echo "contracts.sh: error: $*" >&2
    exit 1
}

usage() {
    # The comment block at the top of this file, without the leading "# ".
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# The platform binary: the wrapper in node_modules/.bin does not pass on forge's exit status.
forge_path() {
    local os arch
    case "$(uname -s)" in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) die "unsupported OS $(uname -s)" ;;
    esac
    case "$(uname -m)" in
        x86_64 | amd64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) die "unsupported architecture $(uname -m)" ;;
    esac
    echo "$ROOT/node_modules/@foundry-rs/forge-$os-$arch/bin/forge"
}

FORGE="$(forge_path)"

require_tools() {
    command -v node >/dev/null 2>&1 || die "node is not installed (it runs solc-js); install Node.js, then run npm ci first"
    [[ -x "$FORGE" ]] || die "forge not found at $FORGE; run npm ci first (in $ROOT)"
    [[ -f "$ROOT/node_modules/solc/package.json" ]] || die "solc-js not found in $ROOT/node_modules/solc; run npm ci first (in $ROOT)"
}

# forge build into $1 (output and cache both there, so the tree is left alone).
compile_into() {
    local dir="$1"
    (cd "$CONTRACTS" && "$FORGE" build --use "$SOLC" --out "$dir/out" --cache-path "$dir/cache" --skip test --skip script)
}

# Writes the trimmed artifact of every contract defined under contracts/src, found in forge's
# output directory $1, to directory $2 as <Name>.json, and deletes other *.json files there.
# Files whose content is unchanged are not rewritten.
export_artifacts() {
    node - "$1" "$2" <<'JS'
'use strict';
const fs = require('fs');
const path = require('path');
const [outDir, destDir] = process.argv.slice(2);

// Keys sorted at every level, arrays kept in order: stable output whatever forge's key order.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
    return sorted;
  }
  return value;
}

function walk(dir, files = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'build-info') walk(full, files);
    } else if (entry.name.endsWith('.json')) {
      files.push(full);
    }
  }
  return files;
}

const found = new Map(); // contract name -> { source, json }
for (const file of walk(outDir)) {
  const artifact = JSON.parse(fs.readFileSync(file, 'utf8'));
  const target = artifact.metadata && artifact.metadata.settings && artifact.metadata.settings.compilationTarget;
  if (!target) throw new Error(`${file}: no metadata.settings.compilationTarget in forge's artifact`);
  const [[source, name]] = Object.entries(target);
  if (!source.startsWith('src/')) continue;
  if (found.has(name)) {
    throw new Error(`two contracts named ${name} (${found.get(name).source} and ${source}); names under contracts/src must be unique`);
  }
  const trimmed = {
    abi: artifact.abi,
    bytecode: { object: artifact.bytecode.object },
    deployedBytecode: { object: artifact.deployedBytecode.object },
  };
  if (/__\$/.test(trimmed.bytecode.object)) {
    throw new Error(`${name}: bytecode needs library linking, which the checked-in artifacts do not support`);
  }
  found.set(name, { source, json: JSON.stringify(sortKeys(trimmed), null, 2) + '\n' });
}
if (found.size === 0) throw new Error(`no contracts from contracts/src found in ${outDir}`);

fs.mkdirSync(destDir, { recursive: true });
for (const entry of fs.readdirSync(destDir)) {
  if (entry.endsWith('.json') && !found.has(entry.slice(0, -'.json'.length))) {
    fs.unlinkSync(path.join(destDir, entry));
    console.log(`removed  ${entry}`);
  }
}
for (const [name, { source, json }] of [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
  const dest = path.join(destDir, `${name}.json`);
  const old = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : null;
  if (old === json) {
    console.log(`same     ${name}.json (${source})`);
  } else {
    fs.writeFileSync(dest, json);
    console.log(`${old === null ? 'created' : 'updated'}  ${name}.json (${source})`);
  }
}
JS
}

# A scratch directory, removed on exit.
TMP=""
make_tmp() {
    TMP="$(mktemp -d)"
    trap 'rm -rf "$TMP"' EXIT
}

cmd_build() {
    make_tmp
    local tmp="$TMP"
    compile_into "$tmp"
    echo "artifacts in ${ARTIFACTS#"$ROOT"/}:"
    export_artifacts "$tmp/out" "$ARTIFACTS"
}

cmd_check() {
    make_tmp
    local tmp="$TMP"
    compile_into "$tmp"
    export_artifacts "$tmp/out" "$tmp/artifacts" >/dev/null
    if ! diff -ru "$ARTIFACTS" "$tmp/artifacts" >&2; then
        die "the checked-in artifacts in ${ARTIFACTS#"$ROOT"/} are stale; run scripts/contracts.sh build"
    fi
    echo "artifacts in ${ARTIFACTS#"$ROOT"/} are up to date"
}

cmd_test() {
    cd "$CONTRACTS"
    "$FORGE" test --use "$SOLC" "$@"
}

[[ $# -ge 1 ]] || usage
command="$1"
shift
case "$command" in
    build)
        [[ $# -eq 0 ]] || usage
        require_tools
        cmd_build
        ;;
    check)
        [[ $# -eq 0 ]] || usage
        require_tools
        cmd_check
        ;;
    test)
        require_tools
        cmd_test "$@"
        ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
