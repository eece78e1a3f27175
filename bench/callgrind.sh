#!/bin/bash
# Instructions of the link_overhead link under callgrind: repeatable where
# wall time is not (a loaded machine). Run the wall-time bench once first,
# for the objects and the Run-2 state, with the same shape and size:
#
#     cargo bench --bench link_overhead -- [--shape SHAPE] run2 [OBJECTS] 3
#     bench/callgrind.sh [--shape c|cxx|large] [--objects N] [bfd|gold] [plain|run1|run2] [PLUGIN.so]
#
# SHAPE is c (the default, 600 objects), cxx (3,000) or large (4); see
# bench/shapes.rs. Prints the linker's main-thread instructions, those of
# the plugin's hashing workers (Run-2), and the plugin hooks' share of the
# main thread (inclusive; onload counts GCC's LTO plugin's tiny onload too,
# callgrind merges the two by name). The main thread is what costs wall
# time: the workers overlap the linker. With the plain link's profile at
# hand (run `plain` once per linker), also the ratios against it: the main
# thread's, and all threads' (a repeatable stand-in for link_overhead's
# wall-time ratio on a machine too loaded for wall time). CG_OUT=DIR puts
# the profile elsewhere (to keep a baseline); TOP=N also lists the
# plugin's N costliest functions, inclusive.
set -eu
shape=c
n=
while [ $# -gt 0 ]; do
    case $1 in
    --shape) shape=$2; shift 2 ;;
    --objects) n=$2; shift 2 ;;
    *) break ;;
    esac
done
case $shape in
c) driver=gcc; n=${n:-600} ;;
cxx) driver=g++; n=${n:-3000} ;;
large) driver=gcc; n=${n:-4} ;;
*) echo "shape: c, cxx or large" >&2; exit 2 ;;
esac
linker=${1:-gold}
mode=${2:-run2}
root=$(cd "$(dirname "$0")/.." && pwd)
plugin=${3:-$root/target/release/deps/libldprune.so}
dir=$root/target/bench/link-$shape-$n
out=${CG_OUT:-$root/target/callgrind}/$shape-$n/$linker-$mode
plain_out=${CG_OUT:-$root/target/callgrind}/$shape-$n/$linker-plain/cg.out-01
[ -f "$dir/src/compiled" ] || {
    echo "run: cargo bench --bench link_overhead -- --shape $shape run2 $n 3" >&2
    exit 2
}
rm -rf "$out" && mkdir -p "$out"
cd "$dir"
objs=$(for i in $(seq 0 $((n - 1))); do echo "src/m$i.o"; done)
# collect2's command line, as the bench's driver runs it, without collect2.
# shellcheck disable=SC2086
args=$($driver -fuse-ld="$linker" -shared -Wl,--gc-sections -o libbig.so $objs -### 2>&1 |
    grep collect2 | tail -1 | tr -d '"' | sed -e 's|^ *[^ ]*collect2 ||' -e 's| -fuse-ld=[a-z]*||')
extra=()
case $mode in
plain) ;;
run1) # A build's links share one state directory: one unmeasured link
      # first, as the build's first link (it learns which archives hold
      # LTO IR, archives.ldpa), then the measured one without its record.
      rm -rf "$out/state"
      # shellcheck disable=SC2086
      "/usr/bin/ld.$linker" $args -plugin "$plugin" -plugin-opt=run=1 "-plugin-opt=state=$out/state" >/dev/null 2>&1
      rm -rf "$out/state/links"/*
      extra=(-plugin "$plugin" -plugin-opt=run=1 "-plugin-opt=state=$out/state") ;;
run2) extra=(-plugin "$plugin" -plugin-opt=run=2 "-plugin-opt=state=$dir/state2-$linker") ;;
*) echo "mode: plain, run1 or run2" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.out" \
    "/usr/bin/ld.$linker" $args "${extra[@]}" >"$out/log" 2>&1
total() { grep '^totals:' "$1" | awk '{print $2}'; }
main=$out/cg.out-01
[ -f "$main" ] || main=$out/cg.out
workers=0
for f in "$out"/cg.out-0[2-9] "$out"/cg.out-[1-9][0-9]; do
    [ -f "$f" ] && workers=$((workers + $(total "$f")))
done
hooks=$(callgrind_annotate --inclusive=yes --threshold=100 "$main" 2>/dev/null | grep -v Profiled |
    grep -E "ffi::(claim_file_hook|all_symbols_read_hook|cleanup_hook|at_unload) |\?\?\?:onload \[" |
    awk '{gsub(",","",$1); s+=$1; for (i = 2; i <= NF; i++) if ($i ~ /^\?\?\?:/) name = $i;
          sub(".*ffi::","",name); sub("^\\?\\?\\?:","",name); printf "%s %.2fM  ",name,$1/1e6}
          END {printf "| hooks %.2fM", s/1e6}')
if [ "$mode" = run2 ] && [ -s "$dir/state2-$linker/apply.log" ]; then
    echo "warning: Run-2 left the link unchanged, see $dir/state2-$linker/apply.log" >&2
fi
printf '%s %s: main thread %.2fM, workers %.2fM\n  %s\n' "$linker" "$mode" \
    "$(echo "$(total "$main") / 1000000" | bc -l)" "$(echo "$workers / 1000000" | bc -l)" "$hooks"
[ -f "$plain_out" ] || plain_out=${plain_out%-01}
if [ "$mode" != plain ] && [ -f "$plain_out" ]; then
    p=$(total "$plain_out")
    printf '  against the plain link (%.2fM): main thread %.3f, all threads %.3f\n' \
        "$(echo "$p / 1000000" | bc -l)" "$(echo "$(total "$main") / $p" | bc -l)" \
        "$(echo "($(total "$main") + $workers) / $p" | bc -l)"
fi
# TOP=N: the plugin's N costliest functions on the main thread, inclusive
# (where its hooks' instructions go).
if [ "${TOP:-0}" -gt 0 ]; then
    callgrind_annotate --inclusive=yes --threshold=100 "$main" 2>/dev/null |
        grep -E '(ldprune|ffi)::' | head -n "$TOP" | sed -e 's/^/    /' -e 's/ \[[^]]*\]$//'
fi
echo "  profile: callgrind_annotate --inclusive=yes $main"
