#!/bin/sh
# Cross-builds static, stripped, version-stamped srs-lite binaries and prints
# their size table against packaging/size-budget.txt (failing on a budget
# overrun):
#   scripts/cross.sh [TARGET...]          (default: every target below)
#   TAGS=tiny scripts/cross.sh mipsle     (the small-flash profile)
# Output: $OUT/srs-lite-linux-TARGET, or srs-lite-linux-TARGET-tiny when TAGS
# has "tiny" (which adds the standard library's nethttpomithttp2 tag).
#
# Targets (GOOS=linux): amd64 arm64 armv7 armv6 armv5 mipsle mips mips64le
# riscv64. MIPS builds use soft float (GOMIPS=softfloat, GOMIPS64=softfloat):
# most router SoCs have no FPU, and the kernel's FPU emulation is far slower.
#
# Env: VERSION (default: git describe), TAGS, OUT (default: bin), GO.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=${OUT:-bin}
TAGS=${TAGS:-}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
ALL="amd64 arm64 armv7 armv6 armv5 mipsle mips mips64le riscv64"
# shellcheck disable=SC2086
[ $# -gt 0 ] || set -- $ALL

suffix=""
case " $TAGS " in *" tiny "*|*" tiny,"*|*",tiny "*|*",tiny,"*)
	suffix="-tiny"
	TAGS="$TAGS nethttpomithttp2"
	;;
esac
tags=$(echo "$TAGS" | tr ',' ' ' | tr -s ' ' '\n' | sed '/^$/d' | sort -u | paste -sd, -)
mod=github.com/srs-lite/srs-lite
ldflags="-s -w -X $mod/internal/buildinfo.Version=$VERSION -X $mod/internal/server.Version=$VERSION"
mkdir -p "$OUT"

built=""
for t in "$@"; do
	arch=$t; arm=""; mips=""; mips64=""
	case $t in
	amd64|arm64|riscv64) ;;
	armv5|armv6|armv7) arch=arm; arm=${t#armv} ;;
	mipsle|mips) mips=softfloat ;;
	mips64le|mips64) mips64=softfloat ;;
	*) echo "cross: unknown target $t (known: $ALL)" >&2; exit 2 ;;
	esac
	bin="$OUT/srs-lite-linux-$t$suffix"
	start=$(date +%s)
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=$arm GOMIPS=$mips GOMIPS64=$mips64 \
		$GO build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$bin" ./cmd/srs-lite
	echo "cross: $bin ($(($(date +%s) - start)) s)"
	built="$built $bin"
done
# shellcheck disable=SC2086
exec scripts/size-check.sh $built
