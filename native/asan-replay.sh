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
[ -f dist/cli/main.js ] || npm run build >/dev/null
libasan=$(${CXX:-g++} -print-file-name=libasan.so)
libubsan=$(${CXX:-g++} -print-file-name=libubsan.so)
export LD_PRELOAD="$libasan:$libubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export DPEMU_NATIVE_PATH="$PWD/$addon"
export DPEMU_ENGINE=native
node -e "const a=require(process.env.DPEMU_NATIVE_PATH); if (a.layouts().sanitizers==='none') { console.error('asan-replay: not a sanitizer build'); process.exit(2); }"
n=0
for f in test/fixtures/corpus/*.pcap test/fixtures/corpus/*.pcapng $(find pcaps -name '*.pcap' -o -name '*.pcapng' | sort); do
  scenario=()
  case "$f" in pcaps/kernel/service/*) scenario=(--scenario pcaps/kernel/service/scenario.yaml) ;; esac
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
echo "asan-replay: $n captures replayed with the sanitizer build, no findings"
# The property tests (random valid and damaged frames, random vector sizes) under the same build.
npx vitest run --pool=forks test/native/parity-random.test.ts test/native/parity-captures.test.ts
echo "asan-replay: property and parity tests passed under ASan/UBSan"
