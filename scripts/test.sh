#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the pinned test tools (Foundry's forge,
# anvil and cast, and solc-js, from package-lock.json), then runs the contract tests and every
# Rust test. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "npm ci (Foundry $(node -p "require('./package.json').devDependencies['@foundry-rs/forge-linux-amd64']"), solc-js)"
npm ci --no-audit --no-fund --loglevel=error

step "contracts: checked-in artifacts match the sources"
scripts/contracts.sh check

step "contracts: forge test"
scripts/contracts.sh test

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
