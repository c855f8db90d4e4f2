/* capread.c - reading pcap and pcapng through libpcap, with byte offsets in errors.
 *
 * libpcap does the parsing.  It reads through a FILE that umpa makes with
 * fopencookie, counting the bytes it reads, so umpa knows how many bytes
 * libpcap has consumed (that count less what the stdio buffer still holds):
 * an error names the byte offset of the record that could not be read, with
 * no lseek per packet (ftell costs a system call each time).  What was read
 * before an error stays valid.
 *
 * libpcap does not give pcapng packet comments, so the same reader follows
 * the pcapng block structure of the bytes it hands over (struct ngscan): it
 * numbers the packet blocks (enhanced, simple, obsolete packet) in file
 * order, as libpcap returns them, and keeps the opt_comment options of those
 * that have one in a queue that umpa_capr_next() takes them from.  stdio
 * reads at most one buffer ahead, so the queue stays short.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_cursor.h"

#define SRC_BUF (256 * 1024)
/* A packet block larger than this is skipped by the comment scan (libpcap's own limit is 16 MiB). */
#define NG_MAX_BLOCK (16u * 1024 * 1024)

/* A packet's comments, waiting for libpcap to return the packet. */
struct ngnote {
	uint64_t pkt; /* 1-based number of the packet block in the file */
	char *text;   /* its opt_comment options, joined by newlines */
};

/* The pcapng block scan (see the top of the file). */
struct ngscan {
	int on;          /* the file is pcapng and the scan still follows it */
	int swap;        /* the section is big-endian */
	uint8_t hdr[12]; /* the block header being collected: type, length, SHB byte-order magic */
	size_t nhdr;
	uint32_t type, len; /* the current block, once its header is known */
	size_t got;         /* bytes of the current block seen */
	uint8_t *blk;       /* a packet block being collected, for its options */
	size_t blkcap;
	uint64_t pkts; /* packet blocks seen */
	struct ngnote *q;
	size_t qhead, qlen, qcap;
	char *keylog; /* TLS key log text of every Decryption Secrets Block so far */
	size_t nkeylog;
};

/* Most key log text kept from one file. */
#define NG_MAX_KEYLOG (64u * 1024 * 1024)

/* Block types the scan collects whole: enhanced and obsolete packet blocks
 * (their comments) and Decryption Secrets Blocks (pcapng 4.7: libpcap skips
 * them, so the TLS key logs they carry are kept here). */
static int ng_collect(uint32_t type)
{
	return type == 2 || type == 6 || type == 10;
}

/* The reader behind libpcap's FILE: counts the bytes it hands to stdio. */
struct src {
	int fd;
	int own;   /* close fd at the end */
	long off;  /* bytes read from the file so far */
	int first; /* no byte seen yet: the first block says whether the file is pcapng */
	struct ngscan ng;
};

/* A 32-bit or 16-bit number of the current section, in its byte order (g->swap: big-endian). */
static uint32_t ng32(const struct ngscan *g, const uint8_t *b)
{
	if (g->swap)
		return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static uint16_t ng16(const struct ngscan *g, const uint8_t *b)
{
	return (uint16_t)(g->swap ? b[0] << 8 | b[1] : b[1] << 8 | b[0]);
}

/* The opt_comment options of the packet block in g->blk (g->len bytes) into the queue. */
static void ng_note(struct ngscan *g)
{
	struct umpa_cur c;
	uint32_t caplen, at;
	char *text = NULL;
	size_t tlen = 0;

	umpa_cur_init(&c, g->blk, g->len);
	if (g->type == 3) /* simple packet block: no options */
		return;
	if (!umpa_cur_has(&c, 20, 4))
		return;
	caplen = ng32(g, g->blk + 20); /* enhanced and obsolete packet blocks: captured length at 20 */
	if (caplen > g->len)
		return;
	at = 28 + ((caplen + 3) & ~3u);
	while (umpa_cur_has(&c, at, 4) && at + 4 <= g->len - 4) {
		uint16_t code, olen;
		const uint8_t *v;
		uint8_t h[4];
		umpa_cur_copy_at(&c, at, 4, h);
		code = ng16(g, h);
		olen = ng16(g, h + 2);
		if (code == 0 || umpa_cur_ptr_at(&c, at + 4, olen, &v) < 0)
			break;
		if (code == 1 && olen) { /* opt_comment: UTF-8, not NUL-terminated */
			char *t = realloc(text, tlen + olen + 2);
			if (!t)
				break;
			text = t;
			if (tlen)
				text[tlen++] = '\n';
			memcpy(text + tlen, v, olen);
			tlen += olen;
			text[tlen] = 0;
		}
		at += 4 + ((olen + 3u) & ~3u);
	}
	if (!text)
		return;
	if (g->qhead + g->qlen == g->qcap) { /* make room: move to the front, or grow */
		if (g->qhead) {
			memmove(g->q, g->q + g->qhead, g->qlen * sizeof(*g->q));
			g->qhead = 0;
		} else {
			size_t ncap = g->qcap ? 2 * g->qcap : 16;
			struct ngnote *nq = realloc(g->q, ncap * sizeof(*nq));
			if (!nq) {
				free(text);
				return;
			}
			g->q = nq;
			g->qcap = ncap;
		}
	}
	g->q[g->qhead + g->qlen++] = (struct ngnote){g->pkts, text};
}

/* The Decryption Secrets Block in g->blk (g->len bytes): keep a TLS key log's text. */
static void ng_dsb(struct ngscan *g)
{
	struct umpa_cur c;
	const uint8_t *v;
	uint8_t h[8];
	uint32_t n;
	char *k;

	umpa_cur_init(&c, g->blk, g->len);
	if (umpa_cur_copy_at(&c, 8, 8, h) < 0) /* secrets type, secrets length */
		return;
	n = ng32(g, h + 4);
	if (ng32(g, h) != UMPA_SECRETS_TLS_KEYLOG || umpa_cur_ptr_at(&c, 16, n, &v) < 0 ||
	    g->nkeylog + n + 2 > NG_MAX_KEYLOG)
		return;
	k = realloc(g->keylog, g->nkeylog + n + 2);
	if (!k)
		return;
	g->keylog = k;
	memcpy(k + g->nkeylog, v, n);
	g->nkeylog += n;
	if (n && k[g->nkeylog - 1] != '\n')
		k[g->nkeylog++] = '\n'; /* lines of the next block start on their own */
	k[g->nkeylog] = 0;
}

/* Follow @p n more bytes of the pcapng stream. */
static void ng_feed(struct ngscan *g, const uint8_t *b, size_t n)
{
	while (n && g->on) {
		size_t k;
		if (g->nhdr < 12 && g->got < 12) { /* the block header (12 bytes: every block has at least 12) */
			k = 12 - g->nhdr < n ? 12 - g->nhdr : n;
			memcpy(g->hdr + g->nhdr, b, k);
			g->nhdr += k;
			b += k;
			n -= k;
			if (g->nhdr < 12)
				return;
			if (!memcmp(g->hdr, "\x0a\x0d\x0d\x0a", 4)) { /* section header: its byte order */
				if (!memcmp(g->hdr + 8, "\x4d\x3c\x2b\x1a", 4))
					g->swap = 0;
				else if (!memcmp(g->hdr + 8, "\x1a\x2b\x3c\x4d", 4))
					g->swap = 1;
				else {
					g->on = 0;
					return;
				}
			}
			g->type = ng32(g, g->hdr);
			g->len = ng32(g, g->hdr + 4);
			if (g->len < 12 || g->len % 4) {
				g->on = 0; /* libpcap will say what is wrong */
				return;
			}
			g->got = 12;
			if (g->type == 2 || g->type == 3 || g->type == 6)
				g->pkts++;
			if (ng_collect(g->type) && g->len <= NG_MAX_BLOCK) {
				if (g->blkcap < g->len) {
					uint8_t *nb = realloc(g->blk, g->len);
					if (nb) {
						g->blk = nb;
						g->blkcap = g->len;
					}
				}
				if (g->blkcap >= g->len)
					memcpy(g->blk, g->hdr, 12);
			}
		}
		k = g->len - g->got < n ? g->len - g->got : n;
		if (ng_collect(g->type) && g->len <= g->blkcap)
			memcpy(g->blk + g->got, b, k);
		g->got += k;
		b += k;
		n -= k;
		if (g->got == g->len) {
			if (g->type == 10 && g->len <= g->blkcap)
				ng_dsb(g);
			else if (ng_collect(g->type) && g->len <= g->blkcap)
				ng_note(g);
			g->nhdr = 0;
			g->got = 0;
		}
	}
}

/* The comment of packet block @p pkt (1-based), or NULL; handed over to the caller (free it). */
static char *ng_take(struct ngscan *g, uint64_t pkt)
{
	while (g->qlen && g->q[g->qhead].pkt < pkt) { /* packets libpcap skipped or the caller passed */
		free(g->q[g->qhead].text);
		g->qhead++;
		g->qlen--;
	}
	if (g->qlen && g->q[g->qhead].pkt == pkt) {
		char *t = g->q[g->qhead].text;
		g->qhead++;
		g->qlen--;
		return t;
	}
	return NULL;
}

static void ng_free(struct ngscan *g)
{
	for (size_t i = 0; i < g->qlen; i++)
		free(g->q[g->qhead + i].text);
	free(g->q);
	free(g->blk);
	free(g->keylog);
}

static ssize_t src_read(void *cookie, char *out, size_t n)
{
	struct src *s = cookie;
	ssize_t got;

	do
		got = read(s->fd, out, n);
	while (got < 0 && errno == EINTR);
	if (got > 0) {
		s->off += got;
		if (s->first) { /* a pcapng file starts with a section header block */
			s->first = 0;
			s->ng.on = got >= 4 && !memcmp(out, "\x0a\x0d\x0d\x0a", 4);
		}
		ng_feed(&s->ng, (const uint8_t *)out, (size_t)got);
	}
	return got;
}

static int src_close(void *cookie)
{
	struct src *s = cookie;

	if (s->own)
		close(s->fd);
	ng_free(&s->ng);
	free(s);
	return 0;
}

/* A FILE over @fd with a large stdio buffer; *out receives its byte counter. */
static FILE *src_open(int fd, int own, struct src **out)
{
	static const cookie_io_functions_t io = {.read = src_read, .close = src_close};
	struct src *s = calloc(1, sizeof(*s));
	FILE *fp;

	if (!s)
		return NULL;
	s->fd = fd;
	s->own = own;
	s->first = 1;
	fp = fopencookie(s, "r", io);
	if (!fp) {
		free(s);
		return NULL;
	}
	setvbuf(fp, NULL, _IOFBF, SRC_BUF);
	*out = s;
	return fp;
}

/* How far libpcap has read: what the source gave stdio less what stdio still holds. */
static long consumed(FILE *fp, const struct src *s)
{
#ifdef __GLIBC__
	return s->off - (long)(fp->_IO_read_end - fp->_IO_read_ptr);
#else
	(void)s;
	return ftell(fp);
#endif
}

struct umpa_capr {
	pcap_t *pc;
	FILE *fp;
	struct src *src;
	char *path;
	long last_good; /* file offset after the last packet read */
	uint64_t count; /* packets read, filtered or not: the file's number of the last one */
	int linktype;
	int nsec;
	int pcap32;   /* a pcap file (not pcapng): unsigned 32-bit seconds */
	int filtered; /* prog holds a filter, run here so that count stays the file's numbering */
	struct bpf_program prog;
	char *comment; /* the comment of the packet last returned (p->comment borrows it) */
};

/* Is this message about a truncated file? */
static int is_trunc_msg(const char *m)
{
	return strstr(m, "truncated") || strstr(m, "only got") || strstr(m, "EOF");
}

struct umpa_capr *umpa_capr_open(const char *path, struct umpa_err *e)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	struct umpa_capr *r = calloc(1, sizeof(*r));

	if (!r) {
		umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	r->path = strdup(path);
	if (!r->path)
		goto oom;
	{
		int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			umpa_err_set(e,
				     errno == ENOENT   ? UMPA_ENOENT
				     : errno == EACCES ? UMPA_EPERM
						       : UMPA_EIO,
				     "%s: %s", path, strerror(errno));
			goto fail;
		}
		r->fp = src_open(fd, fd != STDIN_FILENO, &r->src);
		if (!r->fp) {
			if (fd != STDIN_FILENO)
				close(fd);
			goto oom;
		}
	}
	r->pc = pcap_fopen_offline_with_tstamp_precision(r->fp, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!r->pc) {
		long off = 0; /* the file header is what failed */
		int code = is_trunc_msg(eb) ? UMPA_ETRUNC : UMPA_EFORMAT;
		umpa_err_set(e, code, "%s: offset %ld: not a readable capture file: %s", path, off, eb);
		fclose(r->fp);
		r->fp = NULL;
		goto fail;
	}
	r->linktype = pcap_datalink(r->pc);
	r->pcap32 = pcap_major_version(r->pc) == 2; /* libpcap gives pcapng files 1 */
	r->nsec = 1; /* opened with nanosecond precision: libpcap scales microsecond files */
	r->last_good = consumed(r->fp, r->src);
	return r;
oom:
	umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", path);
fail:
	free(r->path);
	free(r);
	return NULL;
}

int umpa_capr_linktype(const struct umpa_capr *r)
{
	/* pcap_datalink gives DLT_ values; the ones that differ from LINKTYPE_ are mapped back */
	switch (r->linktype) {
	case 12: /* DLT_RAW (most systems) */
	case 14: /* DLT_RAW (BSD/OS) */
		return 101;
	default:
		return r->linktype;
	}
}

int umpa_capr_nsec(const struct umpa_capr *r)
{
	return r->nsec;
}

int umpa_capr_filter(struct umpa_capr *r, const char *bpf, struct umpa_err *e)
{
	struct bpf_program prog;

	if (pcap_compile(r->pc, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "filter '%s': %s", bpf, pcap_geterr(r->pc));
	if (r->filtered)
		pcap_freecode(&r->prog);
	r->prog = prog;
	r->filtered = 1;
	return 0;
}

uint64_t umpa_capr_number(const struct umpa_capr *r)
{
	return r->count;
}

int umpa_capr_next(struct umpa_capr *r, struct umpa_pkt *p, struct umpa_err *e)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc;

	while ((rc = pcap_next_ex(r->pc, &h, &d)) == 1 && r->filtered && !pcap_offline_filter(&r->prog, h, d)) {
		r->count++;
		r->last_good = consumed(r->fp, r->src);
	}
	if (rc == 1) {
		umpa_pkt_attach(p, d, h->caplen, h->len, umpa_capr_linktype(r));
		/* pcap's seconds are unsigned (to 2106), as wiretap reads them; libpcap sign-extends them */
		p->ts_sec = r->pcap32 ? (int64_t)(uint32_t)h->ts.tv_sec : (int64_t)h->ts.tv_sec;
		p->ts_nsec = (uint32_t)h->ts.tv_usec; /* nanoseconds: opened with nano precision */
		r->count++;
		free(r->comment);
		r->comment = ng_take(&r->src->ng, r->count);
		p->comment = r->comment;
		r->last_good = consumed(r->fp, r->src);
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	{
		const char *m = pcap_geterr(r->pc);
		int code = is_trunc_msg(m) ? UMPA_ETRUNC : UMPA_EFORMAT;
		return umpa_err_set(e, code, "%s: offset %ld (after packet %llu): %s", r->path, r->last_good,
				    (unsigned long long)r->count, m);
	}
}

const char *umpa_capr_tls_keylog(const struct umpa_capr *r, size_t *n)
{
	*n = r->src ? r->src->ng.nkeylog : 0;
	return *n ? r->src->ng.keylog : NULL;
}

struct umpa_capr *umpa_capr_close(struct umpa_capr *r)
{
	if (!r)
		return NULL;
	if (r->pc)
		pcap_close(r->pc); /* closes r->fp too */
	if (r->filtered)
		pcap_freecode(&r->prog);
	free(r->comment);
	free(r->path);
	free(r);
	return NULL;
}
