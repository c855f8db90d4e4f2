/* capread.c - reading pcap and pcapng through libpcap, with byte offsets in errors.
 *
 * libpcap does the parsing.  It reads through a FILE that umpa makes with
 * fopencookie, counting the bytes it reads, so umpa knows how many bytes
 * libpcap has consumed (that count less what the stdio buffer still holds):
 * an error names the byte offset of the record that could not be read, with
 * no lseek per packet (ftell costs a system call each time).  What was read
 * before an error stays valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umpa_capfile.h"

#define SRC_BUF (256 * 1024)

/*
 * The pcapng block tap: libpcap skips the blocks it does not use, among them
 * the Decryption Secrets Block (pcapng 4.7), so the reader watches the bytes
 * go by on their way to libpcap, walks the block headers, and keeps the TLS
 * key log text of every DSB.  stdio reads ahead of libpcap, so a DSB is seen
 * before the packets after it are returned.  Anything unexpected (a pcap
 * file, a length that lies, a DSB above TAP_MAX_DSB) switches the tap off;
 * libpcap reports broken files itself.
 */
enum {
	TAP_HDR = 12,             /* block type, total length, and the first body word (SHB: byte-order magic) */
	TAP_MAX_DSB = 16 << 20,   /* largest DSB kept */
	TAP_MAX_KEYLOG = 64 << 20 /* most key log text kept from one file */
};

struct tap {
	int off;  /* 1: not a pcapng file, or it stopped making sense */
	int swap; /* the section's byte order differs from ours */
	uint8_t hdr[TAP_HDR];
	unsigned nhdr; /* header bytes collected */
	uint64_t left; /* bytes of the current block after the header */
	int keep;      /* the current block is a DSB being collected */
	uint8_t *blk;  /* the DSB's bytes after the header */
	size_t nblk;
	char *keylog; /* TLS key log text of every DSB so far */
	size_t nkeylog;
};

/* The reader behind libpcap's FILE: counts the bytes it hands to stdio. */
struct src {
	int fd;
	int own;  /* close fd at the end */
	long off; /* bytes read from the file so far */
	struct tap tap;
};

static uint32_t tap_u32(const struct tap *t, const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return t->swap ? __builtin_bswap32(v) : v;
}

/* A whole DSB (its body after the first word): keep a TLS key log's text. */
static void tap_dsb(struct tap *t, uint32_t first_word)
{
	uint32_t type = first_word, n;
	char *k;

	if (t->nblk < 4)
		return;
	n = tap_u32(t, t->blk);
	if (type != UMPA_SECRETS_TLS_KEYLOG || n > t->nblk - 4 || t->nkeylog + n + 1 > TAP_MAX_KEYLOG)
		return;
	k = realloc(t->keylog, t->nkeylog + n + 2);
	if (!k)
		return;
	t->keylog = k;
	memcpy(k + t->nkeylog, t->blk + 4, n);
	t->nkeylog += n;
	if (n && k[t->nkeylog - 1] != '\n')
		k[t->nkeylog++] = '\n'; /* lines of the next block start on their own */
	k[t->nkeylog] = 0;
}

/* Watch @p n bytes on their way to libpcap. */
static void tap_feed(struct tap *t, const uint8_t *b, size_t n)
{
	while (n > 0 && !t->off) {
		if (t->nhdr < TAP_HDR) {
			size_t k = TAP_HDR - t->nhdr < n ? TAP_HDR - t->nhdr : n;
			uint32_t type, total;
			memcpy(t->hdr + t->nhdr, b, k);
			t->nhdr += (unsigned)k;
			b += k;
			n -= k;
			if (t->nhdr < TAP_HDR)
				return;
			memcpy(&type, t->hdr, 4);
			if (type == 0x0A0D0D0Au) { /* section header: its magic says the byte order */
				uint32_t magic;
				memcpy(&magic, t->hdr + 8, 4);
				if (magic == 0x1A2B3C4Du)
					t->swap = 0;
				else if (magic == 0x4D3C2B1Au)
					t->swap = 1;
				else {
					t->off = 1;
					return;
				}
			} else if (t->swap == -1) {
				t->off = 1; /* the first block is not a section header: not pcapng */
				return;
			}
			type = tap_u32(t, t->hdr);
			total = tap_u32(t, t->hdr + 4);
			if (total < TAP_HDR || total % 4) {
				t->off = 1;
				return;
			}
			t->left = total - TAP_HDR;
			t->keep = type == 0x0000000Au && t->left <= TAP_MAX_DSB;
			t->nblk = 0;
			if (t->keep) {
				uint8_t *nb = realloc(t->blk, t->left ? t->left : 1);
				if (!nb)
					t->keep = 0;
				else
					t->blk = nb;
			}
		}
		{
			size_t k = t->left < n ? (size_t)t->left : n;
			if (t->keep) {
				memcpy(t->blk + t->nblk, b, k);
				t->nblk += k;
			}
			t->left -= k;
			b += k;
			n -= k;
			if (t->left == 0) {
				if (t->keep)
					tap_dsb(t, tap_u32(t, t->hdr + 8));
				t->keep = 0;
				t->nhdr = 0;
			}
		}
	}
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
		tap_feed(&s->tap, (const uint8_t *)out, (size_t)got);
	}
	return got;
}

static int src_close(void *cookie)
{
	struct src *s = cookie;

	if (s->own)
		close(s->fd);
	free(s->tap.blk);
	free(s->tap.keylog);
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
	s->tap.swap = -1; /* until a section header says */
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
		p->comment = NULL;
		r->count++;
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
	*n = r->src ? r->src->tap.nkeylog : 0;
	return *n ? r->src->tap.keylog : NULL;
}

struct umpa_capr *umpa_capr_close(struct umpa_capr *r)
{
	if (!r)
		return NULL;
	if (r->pc)
		pcap_close(r->pc); /* closes r->fp too */
	if (r->filtered)
		pcap_freecode(&r->prog);
	free(r->path);
	free(r);
	return NULL;
}
