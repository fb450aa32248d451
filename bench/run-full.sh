#!/usr/bin/env bash
# The full comparison run, RocksDB included, on a fresh machine: installs
# what the `rocksdb` crate needs to build (libclang for bindgen, a C++
# compiler), builds once (10-25 minutes of C++ on two cores), and runs
# the benchmark with any arguments given (default: 1,000,000 records, one
# run of three repetitions, results into docs/bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if ((${#need[@]})); then
    echo "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

cargo build --release -p holdfast-bench --features rocksdb
exec target/release/holdfast-bench "$@"
