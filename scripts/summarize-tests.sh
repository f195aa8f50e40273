#!/bin/sh
# Passes `go test -v` output through, then prints one closing line
# "integration: N passed, N failed, N skipped", and keeps go test's status.
awk '
{ print }
/^[ ]*--- PASS/ { p++ }
/^[ ]*--- FAIL/ { f++ }
/^[ ]*--- SKIP/ { s++ }
/^FAIL/ { bad=1 }
END {
	printf "integration: %d passed, %d failed, %d skipped\n", p, f, s
	if (bad || f) exit 1
}'
