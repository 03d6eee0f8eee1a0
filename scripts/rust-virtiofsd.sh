#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch the Rust virtiofsd of Debian 13 (trixie) and the libraries it needs,
# unpack them under the cache, and print how to run it:
#
#   line 1: a wrapper executable that runs it like a normal binary
#   line 2: the same as a loader command line:
#           LOADER --library-path DIRS --argv0 virtiofsd BINARY
#
# The daemon needs glibc 2.39, newer than Debian 12's, so it runs with the
# unpacked trixie loader (ld-linux-x86-64.so.2 --library-path ...); the
# system's own libraries and apt sources are not touched. apt-get download
# is pointed at a private sources list, lists, cache and status under the
# cache directory (-o Dir::Etc::SourceList=... -o Dir::Etc::SourceParts=-
# -o Dir::State::Lists=... -o Dir::Cache=...).
#
# The cache is $VDAX_RUST_VIRTIOFSD_CACHE, default <repo>/.cache/rust-virtiofsd;
# point several worktrees at one to fetch once. Idempotent: a complete
# unpacked copy (its "ok" stamp) is reused without touching the network.
# Set VDAX_RUST_VIRTIOFSD_MIRROR to use another Debian mirror.
#
#   scripts/rust-virtiofsd.sh            fetch if needed, print the two lines
#   scripts/rust-virtiofsd.sh --version  also run it: print its --version
#
# Exit status: 0 on success, 1 with a message on stderr otherwise.
set -eu

PKGS="virtiofsd libc6 libgcc-s1 libcap-ng0 libseccomp2"
SUITE=trixie
ARCH=amd64
TRIPLET=x86_64-linux-gnu

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VDAX_RUST_VIRTIOFSD_CACHE:-$repo/.cache/rust-virtiofsd}
mirror=${VDAX_RUST_VIRTIOFSD_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
	echo "rust-virtiofsd: $*" >&2
	exit 1
}

# The loader and the library path of an unpacked root.
loader_of() { # root
	for l in "$1/usr/lib/$TRIPLET/ld-linux-x86-64.so.2" \
		"$1/lib/$TRIPLET/ld-linux-x86-64.so.2" \
		"$1/usr/lib64/ld-linux-x86-64.so.2" "$1/lib64/ld-linux-x86-64.so.2"; do
		[ -f "$l" ] && [ ! -L "$l" ] && { echo "$l"; return 0; }
	done
	for l in "$1/usr/lib64/ld-linux-x86-64.so.2" "$1/lib64/ld-linux-x86-64.so.2"; do
		[ -e "$l" ] && { echo "$l"; return 0; }
	done
	return 1
}

print_cached() {
	d=$cache/current
	[ -f "$d/ok" ] || return 1
	echo "$d/virtiofsd"
	cat "$d/command"
}

show() {
	print_cached || return 1
	if [ "${want_version:-0}" = 1 ]; then
		"$cache/current/virtiofsd" --version
	fi
	return 0
}

want_version=0
case ${1:-} in
--version) want_version=1 ;;
"") ;;
*) die "usage: $0 [--version]" ;;
esac

mkdir -p "$cache" || die "cannot create cache directory $cache"
show && exit 0

command -v apt-get >/dev/null || die "apt-get not found"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
[ -r "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"

# Serialize concurrent first fetches (tests, bench may start together).
exec 9>"$cache/.lock"
if command -v flock >/dev/null; then
	flock 9
fi
show && exit 0

# A private apt configuration: its own sources list, lists, cache and
# status, so the system's apt state stays as it is.
apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/preferences.d"
echo "deb [signed-by=$keyring] $mirror $SUITE main" >"$apt/etc/sources.list"
: >"$apt/status"
# apt drops privileges to _apt for downloads; let it write there.
chmod -R a+rwX "$apt" 2>/dev/null || true
set -- -o "Dir::Etc::SourceList=$apt/etc/sources.list" \
	-o Dir::Etc::SourceParts=- \
	-o "Dir::Etc::Preferences=$apt/etc/preferences" \
	-o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d" \
	-o "Dir::State::Lists=$apt/lists" \
	-o "Dir::State::status=$apt/status" \
	-o "Dir::Cache=$apt/cache" \
	-o "APT::Architecture=$ARCH" \
	-o APT::Architectures::=$ARCH \
	-o Acquire::Languages=none -q

echo "rust-virtiofsd: fetching $PKGS from Debian $SUITE (once; cached in $cache)" >&2
apt-get "$@" update >&2 || die "apt-get update of $SUITE failed: is $mirror reachable?"

work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
chmod 0777 "$work"
# shellcheck disable=SC2086
(cd "$work" && apt-get "$@" download $PKGS >&2) ||
	die "apt-get download of $PKGS from $SUITE failed"

root=$work/root
mkdir -p "$root"
for p in $PKGS; do
	deb=$(ls "$work/${p}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || die "apt-get download produced no $p .deb"
	dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
done
ver=$(ls "$work"/virtiofsd_*.deb | sed -n 's/.*virtiofsd_\([^_]*\)_.*/\1/p' | sed 's/%3a/:/')

bin=
for b in "$root/usr/libexec/virtiofsd" "$root/usr/lib/qemu/virtiofsd" "$root/usr/bin/virtiofsd"; do
	[ -f "$b" ] && { bin=$b; break; }
done
[ -n "$bin" ] || die "no virtiofsd binary in the virtiofsd package"

# Paths inside the final directory.
dst=$cache/$ver
fbin=$dst/root${bin#"$root"}
floader=$(loader_of "$root") || die "no ld-linux-x86-64.so.2 in libc6"
floader=$dst/root${floader#"$root"}
flibs="$dst/root/usr/lib/$TRIPLET:$dst/root/lib/$TRIPLET"

out=$work/out
mkdir -p "$out"
mv "$root" "$out/root"
echo "$floader --library-path $flibs --argv0 virtiofsd $fbin" >"$out/command"
cat >"$out/virtiofsd" <<EOF
#!/bin/sh
# The Rust virtiofsd $ver of Debian $SUITE, run by its own loader
# (written by scripts/rust-virtiofsd.sh).
exec "$floader" --library-path "$flibs" --argv0 virtiofsd "$fbin" "\$@"
EOF
chmod 0755 "$out/virtiofsd"
echo "$ver" >"$out/version"

rm -rf "${dst:?}"
mv "$out" "$dst"
# Check it runs before declaring the copy complete.
"$dst/virtiofsd" --version >/dev/null 2>"$work/run.err" || {
	cat "$work/run.err" >&2
	die "the unpacked virtiofsd does not run"
}
touch "$dst/ok"
ln -sfn "$ver" "$cache/current.new"
mv -T "$cache/current.new" "$cache/current"
rm -rf "$apt/cache/archives"/*.deb
show
