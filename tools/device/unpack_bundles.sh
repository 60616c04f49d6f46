# Sourced by the device scripts, from the repository root: CLI bundles that travel xz'd in .bundles/ (NAME.mjs.xz,
# made by prepare_carry.sh: this build's as dist-cli, older ones under the names the A/B scripts take) are unpacked
# to NAME/quantlab.mjs, so that a visit's carry holds several builds in a quarter of their size.
for f in .bundles/*.mjs.xz; do
  [ -f "$f" ] || continue
  d=$(basename "$f" .mjs.xz)
  if [ ! -f "$d/quantlab.mjs" ] || [ "$f" -nt "$d/quantlab.mjs" ]; then
    mkdir -p "$d" && { xz -dc "$f" 2> /dev/null || python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$f"; } > "$d/quantlab.mjs"
  fi
done
