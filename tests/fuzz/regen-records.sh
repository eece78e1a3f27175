#!/bin/sh
# Renews the record seeds (seeds/record/link1.rec, link2.rec) after a
# change of the record format: a Run-1 of libx.so (from seeds/elf/lib.o)
# and prog (from seeds/elf/main.o) through the debug plugin, with ld.bfd.
# Run `cargo build` first.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
plugin=$root/target/debug/libldprune.so
[ -f "$plugin" ] || { echo "no $plugin: run cargo build" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/tests/fuzz/seeds/elf/lib.o" "$root/tests/fuzz/seeds/elf/main.o" "$work/"
cd "$work"
run1="-Wl,-plugin,$plugin -Wl,-plugin-opt=run=1 -Wl,-plugin-opt=state=$work/state"
# shellcheck disable=SC2086
gcc -fuse-ld=bfd -shared -Wl,--gc-sections $run1 -o libx.so lib.o
# shellcheck disable=SC2086
gcc -fuse-ld=bfd -Wl,--gc-sections $run1 -o prog main.o -L. -lx
set -- "$work"/state/links/*
[ $# = 2 ] || { echo "expected 2 records, found $#" >&2; exit 1; }
# In order of size: the library's record is the smaller one.
i=1
for f in $(ls -S -r "$work"/state/links/*); do
    cp "$f" "$root/tests/fuzz/seeds/record/link$i.rec"
    i=$((i + 1))
done
ls -l "$root/tests/fuzz/seeds/record/"
