#!/usr/bin/env bash
# Fuzzing (docs/fuzzing.md): builds the libFuzzer targets of tb/fuzz with clang into build-fuzz/ (ASan +
# UBSan + libFuzzer, Release -g), makes the seed corpora, runs each target and reports per target: runs,
# coverage, corpus size, and whether it found anything (the crash file then).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 60); default: every target
#   scripts/fuzz.sh --smoke [TARGET...]      CI smoke: 10 s per target
#   options: --no-build (reuse build-fuzz as it is), --build-only (build and seed, fuzz nothing),
#            --jobs N (targets fuzzed at the same time, default 1)
#
# Exit status: 0 when no target found anything, 1 when one did, 2 on a usage or build problem.
# The corpus each target grows is kept in build-fuzz/work/<target>/corpus and used again next time; crash
# files land in build-fuzz/work/<target>/ (replay: build-fuzz/fuzz/<target> FILE). Keep a finding as
# tb/fuzz/regressions/<target>/<name> once fixed; the fuzz_replay tests of the normal build replay it.
# Environment: OV2_FUZZ_BUILD (build dir), OV2_FUZZ_ARGS (extra libFuzzer flags), CC/CXX (default clang).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
all_targets=(fuzz_frame_path fuzz_pcap fuzz_sa_json fuzz_sa_xfrm fuzz_mmio_oid fuzz_oid_script)

seconds=60 build=1 fuzz=1 jobs=1 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) seconds=10 ;;
    --no-build) build=0 ;;
    --build-only) fuzz=0 ;;
    --jobs) jobs="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    [0-9]*) seconds="$1" ;;
    fuzz_*) targets+=("$1") ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t (${all_targets[*]})" >&2; exit 2; }
done

bdir="${OV2_FUZZ_BUILD:-$root/build-fuzz}"
export CC="${CC:-clang}" CXX="${CXX:-clang++}"
if [ "$build" = 1 ]; then
  bash "$root/scripts/setup.sh"
  if ! command -v "$CXX" >/dev/null; then
    echo "fuzz.sh: $CXX not found; expected clang (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
  fi
  mkdir -p "$bdir"
  log="$bdir/build.log"
  echo "fuzz.sh: building ${targets[*]} into $bdir (log: $log)" >&2
  if ! { cmake -S "$root" -B "$bdir" $(bash "$root/scripts/fast-build-args.sh" "$bdir") -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DOV2_FUZZ=ON \
           -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-g" -DOV2_TB_FILTER='^fuzz$' &&
         cmake --build "$bdir" -j"$(nproc)" --target "${targets[@]}"; } >"$log" 2>&1; then
    grep -E "error" "$log" | head -30 >&2 || true
    echo "fuzz.sh: build failed (full log: $log)" >&2
    exit 2
  fi
  # Seeds: files of the repository (make_corpus.py) plus each target's built-in seeds.
  rm -rf "$bdir/seeds"
  /usr/bin/python3 "$root/tb/fuzz/make_corpus.py" --out "$bdir/seeds" >&2
  for t in "${targets[@]}"; do
    OV2_FUZZ_WRITE_SEEDS="$bdir/seeds/$t/builtin" "$bdir/fuzz/$t" >/dev/null 2>&1 ||
      { echo "fuzz.sh: $t could not write its built-in seeds" >&2; exit 2; }
  done
fi
[ "$fuzz" = 1 ] || exit 0

declare -A dict=([fuzz_frame_path]=frame.dict [fuzz_pcap]=pcap.dict [fuzz_sa_json]=sa_json.dict
                 [fuzz_sa_xfrm]=sa_xfrm.dict [fuzz_oid_script]=oid_script.dict)
declare -A max_len=([fuzz_frame_path]=4096 [fuzz_pcap]=16384 [fuzz_sa_json]=8192 [fuzz_sa_xfrm]=8192
                    [fuzz_mmio_oid]=2048 [fuzz_oid_script]=8192)

# run_one TARGET: fuzzes it for $seconds, writes its summary line to work/TARGET/summary.
run_one() {
  local t="$1" w="$bdir/work/$1"
  mkdir -p "$w/corpus"
  local args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=2560
              -max_len="${max_len[$t]}" -artifact_prefix="$w/")
  [ -n "${dict[$t]:-}" ] && args+=(-dict="$root/tb/fuzz/dict/${dict[$t]}")
  # shellcheck disable=SC2206
  [ -n "${OV2_FUZZ_ARGS:-}" ] && args+=(${OV2_FUZZ_ARGS})
  local status=0 start end
  start=$(date +%s)
  (cd "$w" && "$bdir/fuzz/$t" "${args[@]}" "$w/corpus" "$bdir/seeds/$t") \
    >"$w/log" 2>&1 || status=$?
  end=$(date +%s)
  local runs cov ft corpus crash=""
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$w/log" | tail -1 | grep -oE '[0-9]+$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$w/log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' "$w/log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  corpus=$(find "$w/corpus" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    crash=$(grep -oE '(Test unit|artifact_prefix.*Test unit) written to [^ ]+' "$w/log" | tail -1 | awk '{print $NF}')
    [ -z "$crash" ] && crash="(no artifact; see $w/log)"
  fi
  printf '%-16s %5ss  runs %-10s cov %-6s ft %-6s corpus %-6s %s\n' "$t" "$((end - start))" "$runs" "$cov" \
    "$ft" "$corpus" "$([ "$status" -eq 0 ] && echo "no finding" || echo "FOUND (exit $status): $crash")" \
    >"$w/summary"
  return "$status"
}

echo "fuzz.sh: ${seconds}s per target: ${targets[*]} (logs: $bdir/work/TARGET/log)" >&2
failed=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
for t in "${targets[@]}"; do cat "$bdir/work/$t/summary"; done
exit "$failed"
