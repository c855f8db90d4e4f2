#!/usr/bin/env bash
# raw_reads.sh - no read of packet bytes in protocols/ bypasses the cursor.
#
# Runs tests/lint/raw_reads.py (the rules and the reviewed allow-list are
# there) twice: first over a small planted tree, where each kind of raw read it
# knows must be found (so the check cannot pass by finding nothing), then over
# the real protocols/.  Prints "ok: ..." or "FAILED: ..." lines; exit 1 when
# anything failed.  Environment: top_srcdir (default .).
set -uo pipefail

top_srcdir=${top_srcdir:-.}
CHECK="$top_srcdir/tests/lint/raw_reads.py"
command -v python3 >/dev/null 2>&1 || { echo "raw_reads: python3 missing: skipped"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/umpa-rawreads.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
FAIL=0

# The planted tree: one function per kind of raw read, one clean function.
mkdir -p "$T/protocols"
cat >"$T/protocols/planted.c" <<'C'
struct span {
	const uint8_t *d;
};

static uint32_t be32(const uint8_t *d)
{
	return (uint32_t)d[0] << 24;
}

static int indexes(struct umpa_cur *c)
{
	const uint8_t *a;
	umpa_cur_ptr_at(c, 0, 4, &a);
	return a[1];
}

static int member(const struct span *s)
{
	return s->d[0];
}

static int window(struct umpa_cur *c)
{
	return c->p[3];
}

static int packet(const struct umpa_pkt *p)
{
	return p->data[14];
}

static void copies(uint8_t *out, struct umpa_cur *c)
{
	const uint8_t *a;
	umpa_cur_ptr_at(c, 0, 4, &a);
	memcpy(out, a, 4);
}

static unsigned order(const uint16_t *v)
{
	return ntohs(*v);
}

static uint32_t len24(uint8_t b1, uint8_t b2, uint8_t b3)
{
	return (uint32_t)b1 << 16 | (uint32_t)b2 << 8 | b3;
}

static void clean(struct umpa_cur *c, uint8_t *b)
{
	uint32_t v;
	umpa_cur_be32_at(c, 0, &v);
	b[0] = (uint8_t)v; /* a write into a build buffer is no read */
}
C
out=$(python3 "$CHECK" "$T")
for fn in be32 indexes member window packet copies order len24; do
	if grep -q "(in $fn)" <<<"$out"; then
		echo "ok: planted raw read in $fn() is found"
	else
		echo "FAILED: planted raw read in $fn() not found"
		FAIL=1
	fi
done
if grep -q "(in clean)" <<<"$out"; then
	echo "FAILED: a cursor read and a buffer write were taken for raw reads: $(grep '(in clean)' <<<"$out")"
	FAIL=1
else
	echo "ok: cursor reads and buffer writes pass"
fi

# The real tree.
if out=$(python3 "$CHECK" "$top_srcdir"); then
	echo "ok: protocols/ reads packet bytes only through the cursor"
else
	echo "FAILED: raw reads of packet bytes in protocols/:"
	echo "$out"
	FAIL=1
fi
exit $FAIL
