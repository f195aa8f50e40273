#!/bin/sh
# Prints the size table of cross-built binaries and fails when one is over
# its budget in packaging/size-budget.txt:
#   scripts/size-check.sh [BIN...]     (default: every bin/srs-lite-linux-*)
# A binary with no line in the budget file is listed, not checked.
set -eu
cd "$(dirname "$0")/.."
BUDGET=${BUDGET:-packaging/size-budget.txt}
[ $# -gt 0 ] || set -- bin/srs-lite-linux-*
[ -e "$1" ] || { echo "size-check: no binaries (run make cross)" >&2; exit 1; }
for f in "$@"; do
	printf '%s %s\n' "$f" "$(wc -c < "$f")"
done | awk -v budget="$BUDGET" '
function mib(n) { return sprintf("%.2f", n / 1048576) }
BEGIN {
	while ((getline line < budget) > 0) {
		sub(/#.*/, "", line)
		if (split(line, a, " ") < 2) continue
		v = a[2]
		if (v ~ /MiB$/) { sub(/MiB$/, "", v); v = v * 1048576 }
		else if (v ~ /KiB$/) { sub(/KiB$/, "", v); v = v * 1024 }
		limit[a[1]] = v; shown[a[1]] = a[2]
	}
	printf "%-34s %10s %9s %9s %6s\n", "binary", "bytes", "MiB", "budget", "used"
}
{
	n = split($1, p, "/"); name = p[n]
	if (name in limit) {
		used = sprintf("%5.1f%%", 100 * $2 / limit[name])
		printf "%-34s %10d %9s %9s %6s\n", name, $2, mib($2), shown[name], used
		if ($2 > limit[name]) over[name] = $2
	} else {
		printf "%-34s %10d %9s %9s %6s\n", name, $2, mib($2), "-", "-"
	}
}
END {
	bad = 0
	for (name in over) {
		printf "size-check: FAIL: %s is %s MiB, over its budget of %s (%s) by %s MiB. Find what grew (go tool nm -size -sort size on an unstripped build; go list -deps ./cmd/srs-lite) and drop it or put it behind a build tag; raise the budget only if the growth is worth the flash.\n", name, mib(over[name]), shown[name], budget, mib(over[name] - limit[name]) > "/dev/stderr"
		bad = 1
	}
	exit bad
}'
