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

/* The reader behind libpcap's FILE: counts the bytes it hands to stdio. */
struct src {
	int fd;
	int own;  /* close fd at the end */
	long off; /* bytes read from the file so far */
};

static ssize_t src_read(void *cookie, char *out, size_t n)
{
	struct src *s = cookie;
	ssize_t got;

	do
		got = read(s->fd, out, n);
	while (got < 0 && errno == EINTR);
	if (got > 0)
		s->off += got;
	return got;
}

static int src_close(void *cookie)
{
	struct src *s = cookie;

	if (s->own)
		close(s->fd);
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
	uint64_t count; /* packets read */
	int linktype;
	int nsec;
	int pcap32; /* a pcap file (not pcapng): unsigned 32-bit seconds */
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
	if (pcap_setfilter(r->pc, &prog) < 0) {
		umpa_err_set(e, UMPA_EINVAL, "filter '%s': %s", bpf, pcap_geterr(r->pc));
		pcap_freecode(&prog);
		return -UMPA_EINVAL;
	}
	pcap_freecode(&prog);
	return 0;
}

int umpa_capr_next(struct umpa_capr *r, struct umpa_pkt *p, struct umpa_err *e)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc = pcap_next_ex(r->pc, &h, &d);

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

struct umpa_capr *umpa_capr_close(struct umpa_capr *r)
{
	if (!r)
		return NULL;
	if (r->pc)
		pcap_close(r->pc); /* closes r->fp too */
	free(r->path);
	free(r);
	return NULL;
}
