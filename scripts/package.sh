#!/bin/sh
# Builds srs-lite packages into dist/ with nfpm (pinned in packaging/nfpm,
# its own module, built once into bin/tools/nfpm):
#   scripts/package.sh [FORMAT:ARCH...]     (default: every one below)
#   scripts/package.sh deb:amd64 ipk:mipsel_24kc
# Binaries come from bin/srs-lite-linux-TARGET, cross-built when missing.
#
# Env: PKG_VERSION (default: from git describe), DIST (default: dist), GO.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}

# FORMAT:ARCH -> cross target (scripts/cross.sh)
target_of() {
	case $1 in
	deb:amd64 | ipk:x86_64) echo amd64 ;;
	deb:arm64 | ipk:aarch64_cortex-a53 | ipk:aarch64_generic) echo arm64 ;;
	deb:armhf | ipk:arm_cortex-a7_neon-vfpv4 | ipk:arm_cortex-a9_vfpv3-d16) echo armv7 ;;
	deb:armel | ipk:arm_arm926ej-s) echo armv5 ;;
	deb:mipsel | ipk:mipsel_24kc) echo mipsle ;;
	ipk:mips_24kc) echo mips ;;
	deb:mips64el) echo mips64le ;;
	deb:riscv64 | ipk:riscv64_riscv64) echo riscv64 ;;
	*) return 1 ;;
	esac
}
ALL="deb:amd64 deb:arm64 deb:armhf deb:armel deb:mipsel deb:mips64el deb:riscv64
ipk:mipsel_24kc ipk:mips_24kc ipk:arm_cortex-a7_neon-vfpv4 ipk:aarch64_cortex-a53 ipk:x86_64"
# shellcheck disable=SC2086
[ $# -gt 0 ] || set -- $ALL

if [ -z "${PKG_VERSION:-}" ]; then
	# v1.2.3 -> 1.2.3; v1.2.3-4-gabc -> 1.2.3+4.gabc; no tag -> 0.1.0~gitN.HASH
	# (~ sorts before the release, as dpkg and opkg compare versions).
	if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
		PKG_VERSION=$(echo "${d#v}" | sed 's/-\([0-9]*\)-g/+\1.g/')
	else
		PKG_VERSION="0.1.0~git$(git rev-list --count HEAD 2>/dev/null || echo 0).$(git rev-parse --short HEAD 2>/dev/null || echo dev)"
	fi
fi
export PKG_VERSION

nfpm=bin/tools/nfpm
mkdir -p bin/tools "$DIST"
(cd packaging/nfpm && $GO build -trimpath -o ../../$nfpm .)

for spec in "$@"; do
	t=$(target_of "$spec") || { echo "package: unknown FORMAT:ARCH $spec; known: $ALL" >&2; exit 2; }
	bin=bin/srs-lite-linux-$t
	[ -f "$bin" ] || scripts/cross.sh "$t" >/dev/null
	PKG_ARCH=${spec#*:} PKG_BIN=$bin $nfpm package -f packaging/nfpm.yaml -p "${spec%%:*}" -t "$DIST/"
done
