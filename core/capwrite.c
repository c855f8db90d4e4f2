/* capwrite.c - writing pcap (through libpcap) and pcapng (umpa's own writer).
 *
 * pcapng: a Section Header Block, one Interface Description Block with
 * if_tsresol = 9 (nanoseconds), then Enhanced Packet Blocks with an optional
 * opt_comment, Decryption Secrets Blocks and notes (an Interface Statistics
 * Block carrying only a timestamp and an opt_comment) on request (pcapng spec,
 * draft-ietf-opsawg-pcapng).  Blocks are written in host byte order with the
 * byte-order magic, as the format allows.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_capfile.h"

struct umpa_capw {
	enum umpa_capfmt fmt;
	FILE *fp;
	char *path;
	pcap_t *dead; /* pcap: libpcap's dumper */
	pcap_dumper_t *dump;
	int linktype;
	int failed;
};

static int put(struct umpa_capw *w, const void *d, size_t n)
{
	if (n && fwrite(d, 1, n, w->fp) != n) {
		w->failed = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static int put32(struct umpa_capw *w, uint32_t v)
{
	return put(w, &v, 4);
}

static int put16(struct umpa_capw *w, uint16_t v)
{
	return put(w, &v, 2);
}

static const uint8_t zeros[8];

/* An option: code, length, value, padding to 32 bits. */
static int put_opt(struct umpa_capw *w, uint16_t code, const void *v, uint16_t n)
{
	if (put16(w, code) || put16(w, n) || put(w, v, n))
		return -1;
	return put(w, zeros, (4 - n % 4) % 4);
}

static uint32_t optlen(size_t n)
{
	return (uint32_t)(4 + n + (4 - n % 4) % 4);
}

static int write_shb(struct umpa_capw *w)
{
	static const char app[] = "umpa";
	uint32_t len = 28 + optlen(sizeof(app) - 1) + 4;

	if (put32(w, 0x0A0D0D0A) || put32(w, len) || put32(w, 0x1A2B3C4D) || put16(w, 1) || put16(w, 0))
		return -1;
	{
		int64_t seclen = -1;
		if (put(w, &seclen, 8))
			return -1;
	}
	if (put_opt(w, 4 /* shb_userappl */, app, sizeof(app) - 1) || put32(w, 0) || put32(w, len))
		return -1;
	return 0;
}

static int write_idb(struct umpa_capw *w)
{
	uint8_t tsresol = 9;
	uint32_t len = 20 + optlen(1) + 4;

	if (put32(w, 1) || put32(w, len) || put16(w, (uint16_t)w->linktype) || put16(w, 0) || put32(w, UMPA_MAX_PKT))
		return -1;
	if (put_opt(w, 9 /* if_tsresol */, &tsresol, 1) || put32(w, 0) || put32(w, len))
		return -1;
	return 0;
}

struct umpa_capw *umpa_capw_open(const char *path, enum umpa_capfmt fmt, int linktype, struct umpa_err *e)
{
	struct umpa_capw *w = calloc(1, sizeof(*w));

	if (!w || !(w->path = strdup(path))) {
		free(w);
		umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	w->fmt = fmt;
	w->linktype = linktype;
	if (strcmp(path, "-") == 0) {
		w->fp = stdout;
	} else {
		w->fp = fopen(path, "wb");
		if (!w->fp) {
			umpa_err_set(e, errno == EACCES ? UMPA_EPERM : UMPA_EIO, "%s: %s", path, strerror(errno));
			free(w->path);
			free(w);
			return NULL;
		}
	}
	if (fmt == UMPA_CAP_PCAP) {
		/* libpcap wants a DLT_ value; LINKTYPE_RAW (101) is DLT_RAW (12 on most systems) */
		w->dead = pcap_open_dead_with_tstamp_precision(linktype == 101 ? DLT_RAW : linktype, UMPA_MAX_PKT,
							       PCAP_TSTAMP_PRECISION_NANO);
		if (w->dead)
			w->dump = pcap_dump_fopen(w->dead, w->fp);
		if (!w->dump) {
			umpa_err_set(e, UMPA_EIO, "%s: %s", path,
				     w->dead ? pcap_geterr(w->dead) : "pcap_open_dead failed");
			if (w->dead)
				pcap_close(w->dead);
			if (w->fp != stdout)
				fclose(w->fp);
			free(w->path);
			free(w);
			return NULL;
		}
		return w;
	}
	if (write_shb(w) < 0 || write_idb(w) < 0) {
		umpa_err_set(e, UMPA_EIO, "%s: write failed: %s", path, strerror(w->failed));
		if (w->fp != stdout)
			fclose(w->fp);
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

int umpa_capw_write(struct umpa_capw *w, const struct umpa_pkt *p, struct umpa_err *e)
{
	/* a timestamp the format cannot hold is refused, never wrapped: pcap has 32-bit unsigned
	 * seconds (to 2106), pcapng here 64-bit nanoseconds (to 2554) */
	if (p->ts_nsec >= 1000000000u)
		return umpa_err_set(e, UMPA_EINVAL, "%s: timestamp %lld s %u ns: nanoseconds past a second", w->path,
				    (long long)p->ts_sec, p->ts_nsec);
	if (p->ts_sec < 0 || (w->fmt == UMPA_CAP_PCAP && p->ts_sec > (int64_t)UINT32_MAX) ||
	    (w->fmt != UMPA_CAP_PCAP && (uint64_t)p->ts_sec > (UINT64_MAX - p->ts_nsec) / 1000000000u))
		return umpa_err_set(e, UMPA_ERANGE,
				    "%s: timestamp %lld.%09u does not fit %s (seconds since 1970: 0 to %s)", w->path,
				    (long long)p->ts_sec, p->ts_nsec, w->fmt == UMPA_CAP_PCAP ? "pcap" : "pcapng",
				    w->fmt == UMPA_CAP_PCAP ? "4294967295" : "18446744073.709551615");
	if (w->fmt == UMPA_CAP_PCAP) {
		struct pcap_pkthdr h;
		h.ts.tv_sec = (time_t)p->ts_sec;
		h.ts.tv_usec = (suseconds_t)p->ts_nsec; /* nanosecond dumper: tv_usec holds nanoseconds */
		h.caplen = p->len;
		h.len = p->wirelen > p->len ? p->wirelen : p->len;
		pcap_dump((u_char *)w->dump, &h, p->data);
		if (ferror(w->fp))
			return umpa_err_set(e, UMPA_EIO, "%s: write failed", w->path);
		return 0;
	}
	{
		uint64_t ts = (uint64_t)p->ts_sec * 1000000000ull + p->ts_nsec;
		size_t clen = p->comment ? strlen(p->comment) : 0;
		uint32_t pad = (4 - p->len % 4) % 4, len;
		if (clen > 65000) /* before the block length counts it */
			clen = 65000;
		len = 32 + p->len + pad + (clen ? optlen(clen) + 4 : 0);
		if (put32(w, 6) || put32(w, len) || put32(w, 0) || put32(w, (uint32_t)(ts >> 32)) ||
		    put32(w, (uint32_t)ts) || put32(w, p->len) || put32(w, p->wirelen > p->len ? p->wirelen : p->len) ||
		    put(w, p->data, p->len) || put(w, zeros, pad))
			goto fail;
		if (clen && (put_opt(w, 1 /* opt_comment */, p->comment, (uint16_t)clen) || put32(w, 0)))
			goto fail;
		if (put32(w, len))
			goto fail;
		return 0;
	}
fail:
	return umpa_err_set(e, UMPA_EIO, "%s: write failed: %s", w->path, strerror(w->failed));
}

int umpa_capw_secrets(struct umpa_capw *w, uint32_t type, const void *data, uint32_t n, struct umpa_err *e)
{
	uint32_t pad = (4 - n % 4) % 4, len = 20 + n + pad;

	if (w->fmt != UMPA_CAP_PCAPNG)
		return umpa_err_set(e, UMPA_ENOSYS, "%s: decryption secrets need pcapng", w->path);
	if (put32(w, 10) || put32(w, len) || put32(w, type) || put32(w, n) || put(w, data, n) || put(w, zeros, pad) ||
	    put32(w, len))
		return umpa_err_set(e, UMPA_EIO, "%s: write failed: %s", w->path, strerror(w->failed));
	return 0;
}

int umpa_capw_note(struct umpa_capw *w, int64_t ts_ns, const char *text, struct umpa_err *e)
{
	size_t clen = strlen(text);
	uint64_t ts = ts_ns > 0 ? (uint64_t)ts_ns : 0;
	uint32_t len;

	if (w->fmt != UMPA_CAP_PCAPNG)
		return umpa_err_set(e, UMPA_ENOSYS, "%s: notes need pcapng", w->path);
	if (clen > 65000)
		clen = 65000;
	len = 24 + optlen(clen) + 4;
	if (put32(w, 5 /* Interface Statistics Block */) || put32(w, len) || put32(w, 0) ||
	    put32(w, (uint32_t)(ts >> 32)) || put32(w, (uint32_t)ts) ||
	    put_opt(w, 1 /* opt_comment */, text, (uint16_t)clen) || put32(w, 0) || put32(w, len))
		return umpa_err_set(e, UMPA_EIO, "%s: write failed: %s", w->path, strerror(w->failed));
	return 0;
}

int umpa_capw_close(struct umpa_capw *w, struct umpa_err *e)
{
	int rc = 0;

	if (!w)
		return 0;
	if (w->fmt == UMPA_CAP_PCAP) {
		if (pcap_dump_flush(w->dump) < 0 || ferror(w->fp))
			rc = umpa_err_set(e, UMPA_EIO, "%s: write failed", w->path);
		if (w->fp == stdout) {
			fflush(stdout);
			pcap_close(w->dead);
		} else {
			pcap_dump_close(w->dump); /* closes the FILE */
			pcap_close(w->dead);
		}
	} else {
		if (fflush(w->fp) != 0 || ferror(w->fp))
			rc = umpa_err_set(e, UMPA_EIO, "%s: write failed: %s", w->path, strerror(errno));
		if (w->fp != stdout && fclose(w->fp) != 0 && rc == 0)
			rc = umpa_err_set(e, UMPA_EIO, "%s: close failed: %s", w->path, strerror(errno));
	}
	free(w->path);
	free(w);
	return rc;
}
