# Sourced by the scripts that write generated tables into the docs (Scripts/experiments, Scripts/structure).
# splice DOC MARKER BLOCK: replaces what DOC holds between its <!-- MARKER:begin --> and <!-- MARKER:end -->
# lines with the file BLOCK; an error when DOC lacks either marker
splice() {
  local doc=$1 marker=$2 block=$3
  awk -v block="$block" -v m="$marker" '
    $0 == "<!-- " m ":begin -->" { print; while ((getline line < block) > 0) print line; skip = 1; seen = 1; next }
    $0 == "<!-- " m ":end -->" { skip = 0 }
    !skip { print }
    END { exit !(seen && !skip) }
  ' "$doc" > "$block.doc" || { echo "${0##*/}: $doc has no <!-- $marker:begin/end --> markers" >&2; exit 1; }
  cp "$block.doc" "$doc"
}
# finished RUN: whether the run's last planned snapshot exists
finished() {
  [ -f "$1/run.json" ] || return 1
  local last
  last=$(tr -d ' \n' < "$1/run.json" | sed 's/.*"checkpoint_steps":\[\([0-9,]*\)\].*/\1/' | tr ',' '\n' | tail -1)
  [ -f "$1/checkpoints/step-$(printf %06d "$last")/trainer_state.json" ] && ! grep -q interrupted "$1/checkpoints/step-$(printf %06d "$last")/trainer_state.json"
}
