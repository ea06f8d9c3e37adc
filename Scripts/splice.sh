# Sourced by the scripts that write generated tables into the docs.
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
