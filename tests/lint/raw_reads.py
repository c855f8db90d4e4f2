#!/usr/bin/env python3
"""raw_reads.py - fail on reads of packet bytes in protocols/ that bypass the cursor.

Every read of captured bytes goes through the bounds-checked cursor
(core/umpa_cursor.h: umpa_cur_u8_at, _be16_at, _be24_at, _be32_at, _ptr_at,
_copy_at ...).  This check looks at protocols/*.c and *.h for what a reader
would write instead:

  - indexing of a borrowed read-only byte pointer: a name declared
    `const uint8_t *x` (a span the cursor lent, or the packet's data) used as
    `x[...]` or `*x`;
  - `->data[` (the packet's bytes, read directly);
  - a private big-endian helper (a function named like be16/be32/get16/rd32)
    or ntohs/ntohl;
  - memcpy from a borrowed byte pointer (use umpa_cur_copy_at).

Writes into a build buffer (`uint8_t *b`, not const) are not reads and pass.
ALLOW below lists the reviewed exceptions, each with its reason; a line of
the form `file:function` there admits reads inside that function only.
Usage: raw_reads.py [SRCDIR]   (exit 0 clean, 1 with one line per finding)
"""
import os
import re
import sys

# Reviewed exceptions: (file, function) -> reason.
ALLOW = {
    ('protocols/icmpv6.c', 'put_opt'): 'building: copies the option data parsed from the spec, not packet bytes',
    ('protocols/tls_decrypt.c', 'prf12'): 'the seed is the randoms a connection state holds (copied through the cursor)',
}

DECL = re.compile(r'\bconst\s+uint8_t\s*\*\s*(?:const\s+)?(\w+)\b(?!\s*\()((?:\s*(?:=[^,;)]*)?\s*,\s*\*\s*\w+)*)')
MORE = re.compile(r',\s*\*\s*(\w+)')
FUNC = re.compile(r'^(?:static\s+)?(?:inline\s+)?[\w\s\*]+?\b(\w+)\s*\([^;]*$')
HELPER = re.compile(r'\b(?:static\s+)?(?:inline\s+)?(?:uint16_t|uint32_t|unsigned|uint64_t)\s+(\w*(?:be16|be24|be32|get16|get24|get32|rd16|rd24|rd32)\w*)\s*\(')


def strip(text):
    """Blank out comments and string/char literals, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif text[i] in '"\'':
            q = text[i]
            j = i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == '\\' else 1
            out.append(q + ' ' * (j - i - 1) + q)
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return ''.join(out)


def functions(text):
    """Split @text into top-level chunks, one per function (and one before the first)."""
    lines = text.split('\n')
    chunks, cur, func, start = [], [], None, 1
    for no, line in enumerate(lines, 1):
        fm = FUNC.match(line)
        if fm and not line.startswith((' ', '\t', '}')):
            chunks.append((func, start, cur))
            cur, func, start = [], fm.group(1), no
        cur.append(line)
    chunks.append((func, start, cur))
    return chunks


def is_write(line, m):
    """True when match @m is an indexing that is the target of an assignment (a write, not a read)."""
    i = m.end()
    if not line[m.start():i].rstrip().endswith('['):
        return False
    depth = 1
    while i < len(line) and depth:
        depth += {'[': 1, ']': -1}.get(line[i], 0)
        i += 1
    rest = line[i:].lstrip()
    return rest.startswith('=') and not rest.startswith('==')


MEMBER = re.compile(r'^\s+const\s+uint8_t\s*\*\s*(\w+)\s*;', re.M)


def check(path, rel):
    text = strip(open(path, encoding='utf-8').read())
    bad = []
    # struct members that hold borrowed bytes, and the cursor's own window pointer (p)
    members = set(MEMBER.findall(text)) | {'p'}
    mpat = re.compile(r'(?:->|\.)(%s)\s*\[' % '|'.join(sorted(map(re.escape, members))))
    for func, start, lines in functions(text):
        body = '\n'.join(lines)
        names = set()
        for m in DECL.finditer(body):
            names.add(m.group(1))
            for k in MORE.finditer(m.group(2) or ''):
                names.add(k.group(1))
        pats = [(re.compile(r'->data\s*\['), 'indexes packet data'),
                (mpat, 'indexes a borrowed span through a struct member'),
                (re.compile(r'<<\s*16\s*\|\s*(?:\(uint32_t\)\s*)?\w+\s*<<\s*8\b'),
                 'assembles a 24-bit value by hand (umpa_cur_be24_at)'),
                (re.compile(r'\b(ntohs|ntohl)\s*\('), 'byte-order helper on packet bytes')]
        if names:
            alt = '|'.join(sorted(map(re.escape, names)))
            pats.append((re.compile(r'(?<![\w.>])(%s)\s*\[' % alt), 'indexes borrowed bytes'))
            pats.append((re.compile(r'(?<![\w.>)\]])\*\s*(%s)\b(?!\s*[,;)=])' % alt), 'dereferences borrowed bytes'))
            pats.append((re.compile(r'\bmemcpy\s*\([^;]*,\s*\(?(%s)\b' % alt), 'copies borrowed bytes'))
        for off, line in enumerate(lines):
            what = None
            hm = HELPER.search(line)
            if hm and not line.startswith((' ', '\t')):
                what = 'private byte-order helper %s' % hm.group(1)
            for pat, w in pats:
                if not what and any(not is_write(line, m) for m in pat.finditer(line)):
                    what = w
            if what and (rel, func) not in ALLOW:
                bad.append('%s:%d: %s (in %s): read it through the cursor (core/umpa_cursor.h)' %
                           (rel, start + off, what, func))
    return bad


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else '.'
    base = os.path.join(top, 'protocols')
    bad = []
    for f in sorted(os.listdir(base)):
        if f.endswith(('.c', '.h')):
            bad += check(os.path.join(base, f), 'protocols/' + f)
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
