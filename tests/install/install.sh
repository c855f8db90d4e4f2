#!/usr/bin/env bash
# install.sh - the installed library as a user meets it: headers, exports, pkg-config.
#
# Installs the build tree into DESTDIR=$T/root (make's install rules alone: the build tree's
# libumpa.so is never relinked under the other tests' feet; checked), then checks
#   1. the headers are in $includedir/umpa/, and the umbrella umpa.h includes every
#      other installed header;
#   2. no installed header declares a name that ends with an underscore (those are
#      library-internal: *_internal.h, proto_common.h, not installed);
#   3. `nm -D` of the installed libumpa.so: every exported name starts with umpa_,
#      none ends with an underscore, and each one is declared in an installed header;
#   4. tests/install/hello.c, which includes only <umpa/umpa.h>, compiles and links with
#      `pkg-config --cflags --libs umpa` against the installed tree and runs: it builds
#      a frame with the C API and one from a Lua expression, dissects and prints them
#      (one line and JSON) and writes a pcap; the two frames must be the same bytes,
#      the lines must name the addresses and ports, the JSON must parse, and the
#      installed `umpa show` must print the same lines from the pcap.
# Prints "ok: ..." or "FAILED: ..." per check; exit 1 when any failed.
# Environment: top_srcdir, top_builddir (from make check), CC (default cc),
# UMPA_KEEP (keep the install tree; README, Tests).
set -uo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
CC=${CC:-cc}
for t in make nm pkg-config python3 "$CC"; do
	command -v "$t" >/dev/null 2>&1 || { echo "install: $t missing: skipped"; exit 77; }
done

. "$(dirname "$0")/../tmpdir.sh"
T=$(umpa_tmpdir install) || exit 1
trap 'umpa_tmpdir_done "$T"' EXIT
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
failed() { FAIL=$((FAIL + 1)); echo "FAILED: $1"; [ $# -gt 1 ] && printf '    %s\n' "${@:2}"; }

# The test runs inside `make check`, while other tests run the build tree's umpa and libumpa.so.
# `make install` first makes `all`: whenever make thinks anything is out of date, it relinks
# libumpa.la, and libtool removes .libs/libumpa.so* before it links: a test starting then fails to
# load the library.  So the install runs install-am's two halves alone, with the built files
# declared up to date (-o: never remade, nothing remade because of them): it copies what `make
# check` built and builds nothing.  A nested make must not inherit the job server either.
lso=$(readlink -f "$top_builddir/.libs/libumpa.so" 2>/dev/null)
if [ ! -f "$top_builddir/libumpa.la" ] || [ -z "$lso" ] || [ ! -f "$lso" ]; then
	failed "the build tree holds libumpa.la and .libs/libumpa.so (run make first)"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
inst=(install-exec-am install-data-am DESTDIR="$T/root" -o libumpa.la -o umpa -o umpa.pc)
nmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" "$@"; }
before=$(stat -c '%i %Y' "$lso" "$top_builddir/.libs/umpa" 2>/dev/null)
nmake -n "${inst[@]}" >"$T/plan.log" 2>&1
if grep -Eq -- '--mode=(link|compile)|\b(gcc|cc|clang) ' "$T/plan.log"; then
	failed "the install plan (make -n) copies and builds nothing" "$(grep -E -- '--mode=(link|compile)|\b(gcc|cc|clang) ' "$T/plan.log" | head -n 3 | cut -c1-160)"
else
	ok "the install plan (make -n) copies and builds nothing: the build tree's libumpa.so stays in place"
fi
if ! nmake "${inst[@]}" >"$T/install.log" 2>&1; then
	failed "make install DESTDIR=$T/root" "$(tail -n 20 "$T/install.log")"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "make install DESTDIR=..."
after=$(stat -c '%i %Y' "$lso" "$top_builddir/.libs/umpa" 2>/dev/null)
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	ok "the build tree's libumpa.so and umpa are the same files after the install (inode, time)"
else
	failed "the build tree's libumpa.so and umpa are untouched by the install" "before: $before" "after: $after"
fi

pc=$(find "$T/root" -name umpa.pc -path '*/pkgconfig/*' | head -n 1)
lib=$(find "$T/root" -name 'libumpa.so' | head -n 1)
inc=$(find "$T/root" -type d -path '*/include/umpa' | head -n 1)
bin=$(find "$T/root" -type f -path '*/bin/umpa' | head -n 1)
if [ -z "$pc" ] || [ -z "$lib" ] || [ -z "$inc" ] || [ -z "$bin" ]; then
	failed "installed files" "umpa.pc: ${pc:-missing}" "libumpa.so: ${lib:-missing}" "include/umpa: ${inc:-missing}" "bin/umpa: ${bin:-missing}"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi

# 1. the umbrella header includes every installed header
missing=()
for h in "$inc"/*.h; do
	h=${h##*/}
	[ "$h" = umpa.h ] && continue
	grep -q "^#include \"$h\"" "$inc/umpa.h" || missing+=("$h")
done
if [ -f "$inc/umpa.h" ] && [ ${#missing[@]} -eq 0 ]; then
	ok "include/umpa/umpa.h includes all $(($(ls "$inc"/*.h | wc -l) - 1)) other installed headers"
else
	failed "include/umpa/umpa.h includes every installed header" "not included: ${missing[*]:-umpa.h itself is missing}"
fi

# 2. no installed header declares an internal (underscore-ending) name; comments do not count.
# __attribute__ and other reserved (__x) names are the compiler's.
internal=$(for h in "$inc"/*.h; do
	"$CC" -fpreprocessed -dD -E -P "$h" 2>/dev/null | grep -oE '\b[A-Za-z][A-Za-z0-9_]*_\b' | sed "s|^|${h##*/}: |"
done | sort -u)
if [ -z "$internal" ]; then
	ok "installed headers declare no name ending in _"
else
	failed "installed headers declare no name ending in _" $internal
fi

# 3. exported symbols: umpa_* only, none ending in _, each declared in an installed header
nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ && $2 != "U" { print $3 }' | sed 's/@.*//' | sort -u >"$T/exports"
bad=$(grep -vE '^umpa_[A-Za-z0-9_]*[A-Za-z0-9]$' "$T/exports")
if [ -s "$T/exports" ] && [ -z "$bad" ]; then
	ok "nm -D libumpa.so: $(wc -l <"$T/exports") names, all umpa_*, none ending in _"
else
	failed "nm -D libumpa.so exports only umpa_* names not ending in _" $bad
fi
cat "$inc"/*.h | "$CC" -fpreprocessed -dD -E -P - 2>/dev/null | grep -oE '\bumpa_[A-Za-z0-9_]*' | sort -u >"$T/declared"
undeclared=$(comm -23 "$T/exports" "$T/declared")
if [ -z "$undeclared" ]; then
	ok "every exported name is declared in an installed header"
else
	failed "every exported name is declared in an installed header" $undeclared
fi

# 4. a program against the installed tree, with pkg-config alone (a library built with
# --enable-sanitizers needs its program built with them too: the ASan runtime comes first)
san=
if ldd "$lib" 2>/dev/null | grep -q libasan; then san="-fsanitize=address,undefined"; fi
# umpa.pc names the real prefix; the staged copy names the DESTDIR tree (its dependencies'
# own .pc files stay as they are, which PKG_CONFIG_SYSROOT_DIR would not leave them).
mkdir -p "$T/pc"
sed -E "s#^(prefix|exec_prefix|libdir|includedir)=/#\\1=$T/root/#" "$pc" >"$T/pc/umpa.pc"
export PKG_CONFIG_PATH=$T/pc
if ! flags=$(pkg-config --cflags --libs umpa 2>"$T/pkg.err"); then
	failed "pkg-config --cflags --libs umpa" "$(cat "$T/pkg.err")"
elif ! "$CC" -std=c11 -Wall -Wextra -Werror $san -o "$T/hello" "$top_srcdir/tests/install/hello.c" $flags >"$T/cc.log" 2>&1; then
	failed "cc hello.c \$(pkg-config --cflags --libs umpa)" "flags: $flags" "$(head -n 20 "$T/cc.log")"
else
	ok "hello.c builds with #include <umpa/umpa.h> and pkg-config ($flags)"
	where=$(LD_LIBRARY_PATH=${lib%/*} ldd "$T/hello" | awk '/libumpa/ { print $3 }')
	if ! LD_LIBRARY_PATH=${lib%/*} "$T/hello" "$T/hello.pcap" >"$T/hello.out" 2>"$T/hello.err"; then
		failed "hello runs" "$(cat "$T/hello.err")"
	elif [ -n "$where" ] && [ "$where" -ef "$lib" ]; then
		ok "hello runs against the installed libumpa.so"
	else
		failed "hello runs against the installed libumpa.so" "it loads ${where:-no libumpa}"
	fi
	if [ -s "$T/hello.out" ]; then
		if python3 - "$T/hello.out" <<'PY'; then
import json, sys
lines = open(sys.argv[1]).read().splitlines()
summ = [l for l in lines if not l.startswith("{") and not l.startswith("same bytes")]
objs = [json.loads(l) for l in lines if l.startswith("{")]
assert len(summ) == 2 and len(objs) == 2, lines
for s in summ:
    for want in ("192.0.2.1", "192.0.2.2", "40000", "53"):
        assert want in s, (want, s)
assert "same bytes: yes" in lines, "the C and the Lua frame differ"
assert json.dumps(objs[0]).count("192.0.2.2") >= 1, objs[0]
PY
			ok "hello: two summaries naming 192.0.2.1 > 192.0.2.2, 40000 > 53; JSON parses; C and Lua frames are the same bytes"
		else
			failed "hello's output" "$(cat "$T/hello.out")"
		fi
		LD_LIBRARY_PATH=${lib%/*} "$bin" show "$T/hello.pcap" >"$T/show.out" 2>&1
		grep -v '^{\|^same bytes' "$T/hello.out" >"$T/hello.lines"
		if [ -s "$T/show.out" ] && diff "$T/hello.lines" "$T/show.out" >"$T/show.diff"; then
			ok "the installed umpa show prints the same two lines from hello's pcap"
		else
			failed "the installed umpa show prints hello's lines" "$(cat "$T/show.diff" "$T/show.out")"
		fi
	fi
fi

# 5. the live page of --http is installed in the data directory (tools/http_page.c serves it from there)
page=$(find "$T/root" -type d -path '*/share/umpa/page' | head -n 1)
if [ -n "$page" ] && cmp -s "$page/index.html" "$top_srcdir/tools/page/index.html" &&
	cmp -s "$page/page.js" "$top_srcdir/tools/page/page.js" && cmp -s "$page/page.css" "$top_srcdir/tools/page/page.css"; then
	ok "the live page (index.html, page.js, page.css) is installed in ${page#"$T/root"}"
else
	failed "the live page in \$(pkgdatadir)/page" "${page:-no share/umpa/page}"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
