#!/bin/sh
# Passes `go test -v` output through, then prints one closing line
# "integration: N passed, N failed, N skipped" (LABEL replaces "integration"),
# and keeps go test's status.
awk -v label="${LABEL:-integration}" '
{ print }
/^[ ]*--- PASS/ { p++ }
/^[ ]*--- FAIL/ { f++ }
/^[ ]*--- SKIP/ { s++ }
/^FAIL/ { bad=1 }
END {
	printf "%s: %d passed, %d failed, %d skipped\n", label, p, f, s
	if (bad || f) exit 1
}'
