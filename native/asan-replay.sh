#!/usr/bin/env bash
# Replays the malformed corpus (test/fixtures/corpus), every capture in pcaps/ and the native
# parity property tests through the AddressSanitizer/UBSan build of the addon
# (`npm run build:asan` -> native/build-asan/). Node itself is not instrumented, so libasan is
# preloaded; leak detection is off (V8 keeps memory until exit). Any finding aborts the run with
# a non-zero exit and the sanitizer report on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=native/build-asan/build/Release/dpemu_native.node
[ -f "$addon" ] || { echo "asan-replay: $addon is missing; run: npm run build:asan" >&2; exit 2; }
# Always rebuild dist/: a stale CLI would replay old TypeScript against the new addon.
npm run build >/dev/null
libasan=$(${CXX:-g++} -print-file-name=libasan.so)
libubsan=$(${CXX:-g++} -print-file-name=libubsan.so)
export LD_PRELOAD="$libasan:$libubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export DPEMU_NATIVE_PATH="$PWD/$addon"
export DPEMU_ENGINE=native
node -e "const a=require(process.env.DPEMU_NATIVE_PATH); if (a.layouts().sanitizers==='none') { console.error('asan-replay: not a sanitizer build'); process.exit(2); }"
tests_only=0
[ "${1:-}" = "--tests-only" ] && tests_only=1
n=0
[ $tests_only = 1 ] || for f in test/fixtures/corpus/*.pcap test/fixtures/corpus/*.pcapng $(find pcaps -name '*.pcap' -o -name '*.pcapng' | sort); do
  scenario=()
  # A kernel scenario's captures replay under the scenario beside them (as parity-captures does).
  case "$f" in pcaps/kernel/*) [ -f "$(dirname "$f")/scenario.yaml" ] && scenario=(--scenario "$(dirname "$f")/scenario.yaml") ;; esac
  # An unreadable capture is a reader error (exit 1/2), not a finding; a sanitizer abort is signal 6 (134).
  set +e
  node bin/dpemu.js replay --engine native --stats "${scenario[@]}" "$f" > /dev/null 2> /tmp/asan-replay.err
  rc=$?
  set -e
  if [ $rc -ge 128 ] || grep -qE 'ERROR: AddressSanitizer|runtime error:' /tmp/asan-replay.err; then
    echo "asan-replay: FINDING while replaying $f" >&2
    cat /tmp/asan-replay.err >&2
    exit 1
  fi
  n=$((n + 1))
done
[ $tests_only = 1 ] || echo "asan-replay: $n captures replayed with the sanitizer build, no findings"
# The property and parity tests (random valid and damaged frames, random vector sizes; captures,
# established flows, the IPv4 and edge stages; the native dispatcher, which compares every byte of
# the pool) under the same build, in small groups so a loaded host does not time them out.
groups=(
  "test/native/parity-random.test.ts"
  "test/native/parity-captures.test.ts"
  "test/native/dispatch.test.ts"
  "test/native/parity-established.test.ts test/native/parity-confirm-reap.test.ts test/native/parity-ecn.test.ts"
  "test/native/parity-ip4.test.ts"
  "test/native/parity-edge.test.ts test/native/frame-input-direct.test.ts test/native/filter-proof.test.ts test/native/generated.test.ts"
  "test/native/parity-output.test.ts test/native/filter-walk.test.ts test/native/bpf-hash.test.ts test/native/deferred-entries.test.ts"
  "test/native/parity-tcp-window.test.ts"
)
# A test that runs for more than a minute under the sanitizers blocks its worker's event loop, and vitest
# then reports "[vitest-worker]: Timeout calling ..." as an unhandled error (exit 1) although every test
# passed: that one harness error alone is tolerated; a failed test, a crashed worker or a sanitizer report is not.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for g in "${groups[@]}"; do
  set +e
  # shellcheck disable=SC2086
  npx vitest run --pool=forks --testTimeout=600000 $g 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$out"; then
    echo "asan-replay: FINDING in $g" >&2
    exit 1
  fi
  if [ "$rc" -ne 0 ]; then
    others=$(grep -E '^(Error|[A-Za-z]*Error):' "$out" | grep -vc 'vitest-worker\]: Timeout calling' || true)
    if grep -qE '(Test Files|Tests) .*failed' "$out" || ! grep -qE 'Tests +[0-9]+ passed' "$out" || [ "$others" -ne 0 ]; then
      echo "asan-replay: tests failed in $g" >&2
      exit 1
    fi
    echo "asan-replay: $g passed (vitest's RPC timeout under the slow sanitizer build ignored)"
  fi
done
echo "asan-replay: property and parity tests passed under ASan/UBSan"
