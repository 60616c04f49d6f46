#!/usr/bin/env bash
# A CLI bundle of another build for the device A/B scripts: .bundles/NAME.mjs.xz (ignored; unpack_bundles.sh unpacks
# it to NAME/quantlab.mjs on the GPU machine). COMMIT: the build's commit; EDIT (optional): a sed script applied to
# FILE first (an experiment's one-line change), e.g.
#   bash tools/device/build_bundle.sh HEAD dist-cli-rows8 src/model/ops.ts 's/^const GEMV_ROWS = 2;/const GEMV_ROWS = 8;/'
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
commit=$1 name=$2 file=${3:-} edit=${4:-}
wt=$(mktemp -d /tmp/bundle-XXXXXX)
trap 'git worktree remove --force "$wt" > /dev/null 2>&1 || rm -rf "$wt"; git worktree prune' EXIT
git worktree add -q --detach "$wt" "$commit"
ln -s "$PWD/node_modules" "$wt/node_modules"
if [ -n "$file" ]; then
  before=$(md5sum < "$wt/$file")
  sed -i "$edit" "$wt/$file"
  [ "$before" != "$(md5sum < "$wt/$file")" ] || { echo "build_bundle: the edit changed nothing in $file" >&2; exit 1; }
fi
(cd "$wt" && npx vite build --config vite.cli.config.ts --logLevel error)
mkdir -p .bundles && xz -9 -c "$wt/dist-cli/quantlab.mjs" > ".bundles/$name.mjs.xz"
echo "wrote .bundles/$name.mjs.xz ($(git rev-parse --short "$commit")${file:+, $file edited})"
