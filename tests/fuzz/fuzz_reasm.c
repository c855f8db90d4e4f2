/* fuzz_reasm.c - libFuzzer target: the TCP reassembler (protocols/tcp_reasm.c) over segment sequences.
 *
 * Input: byte 0 chooses the reassembler's limits (bits 0-1 flows, 2-3 bytes
 * per flow and, with bit 7, held segments: small ones or the defaults), the
 * output form (bits 4-5) and where sequence numbers start (bit 6); then
 * segments, each
 *
 *     flow (1 byte)  seq delta (2 bytes, signed, big-endian)  flags (1 byte)  length (2 bytes)  payload
 *
 * flow: bits 0-1 one of four connections, bit 2 the direction (client to
 * server or back), bit 3 IPv6.  The segment's sequence number is where that
 * direction's stream stands (the end of its last segment) plus the delta, so
 * in-order data, gaps, overlaps, retransmissions and wrap-around (byte 0
 * bit 6 starts the streams 256 bytes before 2^32) are all a small step
 * away.  flags: the TCP flags (FIN, SYN, RST, PSH, ACK ...) as they are.
 * length: payload bytes, taken from the input (fewer when it ends).  The
 * server's port is 443, so data is dissected as TLS and followed.
 *
 * Each segment becomes an IPv4 or IPv6 frame in a heap block of its own,
 * freed right after the feed (a reassembler that kept a pointer into a frame
 * is an AddressSanitizer report at the next one), is dissected and fed to
 * umpa_reasm_show in the form byte 0 bits 4-5 choose; the output is checked
 * as fuzz_dissect checks it (no control character from the bytes, NUL only
 * at its end), the layers of what umpa_reasm_feed returns stay inside their
 * bytes, and the counters stay consistent.
 *
 * The reassembler holds a key log with secrets for the client random of 32
 * zero bytes (TLS 1.2 master secret and the TLS 1.3 traffic and early secrets), so a
 * ClientHello with that random and a ServerHello take the decryption path
 * (protocols/tls_decrypt.c): key derivation, record decryption that fails or
 * not, TLS 1.3 inner content types; the "decrypt-*" seeds start there.
 *
 * UMPA_FUZZ_REASM_PRINT=1 prints what each feed rendered.
 * UMPA_FUZZ_REASM_SEEDS=DIR writes seeds into DIR and exits (tests/fuzz/run.sh
 * does this): TLS records split across segments in order, out of order,
 * duplicated, overlapping, across the sequence wrap, over several flows.
 *
 * Built and run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_packet.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"
#include "umpa_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { SEG_HDR = 6, MAX_PAYLOAD = 16384, FLOWS = 8 };

static struct umpa_sbuf out;

#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"
/* secrets for the client random of 32 zero bytes */
static const char keylog[] = "CLIENT_RANDOM " Z64 " " Z64 "01010101010101010101010101010101\n"
			     "CLIENT_HANDSHAKE_TRAFFIC_SECRET " Z64 " " Z64 "\n"
			     "SERVER_HANDSHAKE_TRAFFIC_SECRET " Z64 " " Z64 "\n"
			     "# a comment, and a label not used\nEXPORTER_SECRET " Z64 " " Z64 "\n"
			     "CLIENT_TRAFFIC_SECRET_0 " Z64 " " Z64 "\n"
			     "SERVER_TRAFFIC_SECRET_0 " Z64 " " Z64 "\n"
			     "CLIENT_EARLY_TRAFFIC_SECRET " Z64 " " Z64 "\n";
static int print_out; /* UMPA_FUZZ_REASM_PRINT set: show what each feed rendered (reproducing a finding) */

/* No control characters from packet bytes may reach a terminal (tabs and newlines are the renderer's). */
static void check_text(const char *s, size_t n)
{
	if (!s)
		return;
	if (strlen(s) != n) {
		fprintf(stderr, "fuzz_reasm: NUL inside the output\n");
		__builtin_trap();
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
			fprintf(stderr, "fuzz_reasm: control character 0x%02x at byte %zu of:\n%.*s\n", c, i,
				(int)(n > 4000 ? 4000 : n), s);
			__builtin_trap();
		}
	}
}

/* The frame of one segment: IPv4 or IPv6, then TCP (20 bytes), then @p n payload bytes. */
static uint8_t *make_frame(int v6, unsigned conn, int to_client, uint32_t seq, uint8_t flags, const uint8_t *pay,
			   size_t n, size_t *len)
{
	size_t ipl = v6 ? 40 : 20, tot = ipl + 20 + n;
	uint8_t *f = malloc(tot), *t;
	uint8_t a[16] = {0}, b[16] = {0};
	uint16_t cport = (uint16_t)(40000 + conn), sport = 443;

	if (!f)
		return NULL;
	memset(f, 0, ipl + 20);
	if (v6) {
		a[0] = b[0] = 0xfd;
		a[15] = (uint8_t)(1 + conn);
		b[15] = 0x80;
		f[0] = 0x60;
		f[4] = (uint8_t)((20 + n) >> 8);
		f[5] = (uint8_t)(20 + n);
		f[6] = 6;
		f[7] = 64;
		memcpy(f + 8, to_client ? b : a, 16);
		memcpy(f + 24, to_client ? a : b, 16);
	} else {
		a[0] = b[0] = 10;
		a[3] = (uint8_t)(1 + conn);
		b[3] = 0x80;
		f[0] = 0x45;
		f[2] = (uint8_t)(tot >> 8);
		f[3] = (uint8_t)tot;
		f[8] = 64;
		f[9] = 6;
		memcpy(f + 12, to_client ? b : a, 4);
		memcpy(f + 16, to_client ? a : b, 4);
	}
	t = f + ipl;
	t[0] = (uint8_t)((to_client ? sport : cport) >> 8);
	t[1] = (uint8_t)(to_client ? sport : cport);
	t[2] = (uint8_t)((to_client ? cport : sport) >> 8);
	t[3] = (uint8_t)(to_client ? cport : sport);
	t[4] = (uint8_t)(seq >> 24);
	t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8);
	t[7] = (uint8_t)seq;
	t[12] = 0x50;
	t[13] = flags;
	t[14] = 0xff;
	t[15] = 0xff;
	if (n)
		memcpy(t + 20, pay, n);
	*len = tot;
	return f;
}

/* The layers of a result packet must stay inside its bytes. */
static void check_layers(const struct umpa_pkt *p)
{
	if (p->nlayers > UMPA_MAX_LAYERS)
		__builtin_trap();
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		if (l->off > p->len || l->len > p->len - l->off || l->hlen > l->len)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flows[4] = {0, 1, 2, 4};
	static const size_t bytes[4] = {0, 64, 1024, 16384};
	static const unsigned held[4] = {0, 1, 2, 8};
	struct umpa_reasm_opts o;
	struct umpa_reasm_stats st;
	struct umpa_reasm *r;
	struct umpa_render_opts ro = {.number = 1};
	uint32_t at[FLOWS * 2]; /* where each direction of each flow (and IP version) stands */
	uint64_t frame = 0;
	size_t i = 1;
	int fmt;

	if (size < 1)
		return 0;
	/* bits 0-1 flows, 2-3 bytes per flow (and, with bit 7, held segments), 4-5 the form, 6 the wrap */
	o = (struct umpa_reasm_opts){.max_flows = flows[data[0] & 3],
				     .max_flow_bytes = bytes[(data[0] >> 2) & 3],
				     .max_held = data[0] & 0x80 ? held[(data[0] >> 2) & 3] : 0};
	fmt = (data[0] >> 4) & 3; /* 3: umpa_reasm_feed alone, its result checked */
	for (unsigned k = 0; k < FLOWS * 2; k++)
		at[k] = data[0] & 0x40 ? 0xffffff00u + k * 8 : 1000u + k * 100000u;
	if (!(r = umpa_reasm_open(&o, NULL)))
		return 0;
	if (umpa_reasm_keylog(r, keylog, strlen(keylog), NULL) != 6)
		__builtin_trap();
	while (i + SEG_HDR <= size) {
		uint8_t fl = data[i];
		int16_t delta = (int16_t)(uint16_t)((data[i + 1] << 8) | data[i + 2]);
		uint8_t flags = data[i + 3];
		size_t n = (size_t)((data[i + 4] << 8) | data[i + 5]) % (MAX_PAYLOAD + 1);
		unsigned k = fl & 15;
		uint32_t seq = at[k] + (uint32_t)(int32_t)delta;
		size_t flen;
		uint8_t *f;
		struct umpa_pkt p;

		i += SEG_HDR;
		if (n > size - i)
			n = size - i;
		f = make_frame(fl & 8, fl & 3, fl & 4, seq, flags, data + i, n, &flen);
		i += n;
		if (!f)
			break;
		at[k] = seq + (uint32_t)n + (flags & 3 ? 1u : 0u); /* SYN and FIN take a sequence number */
		umpa_pkt_init(&p);
		umpa_pkt_attach(&p, f, (uint32_t)flen, (uint32_t)flen, UMPA_LINKTYPE_RAW);
		umpa_dissect(&p);
		frame++;
		if (fmt == 3) {
			const struct umpa_pkt *rp = umpa_reasm_feed(r, &p, frame);
			check_layers(&p);
			if (rp) {
				check_layers(rp);
				umpa_sbuf_reset(&out);
				umpa_render_line(rp, &ro, &out);
				check_text(out.s, out.len);
			}
		} else {
			umpa_sbuf_reset(&out);
			umpa_reasm_show(r, &p, frame, (enum umpa_reasm_fmt)fmt, &ro, &out);
			if (!out.oom)
				check_text(out.s, out.len);
			if (print_out && out.s)
				fputs(out.s, stdout);
		}
		umpa_pkt_release(&p);
		free(f);
	}
	umpa_reasm_get_stats(r, &st);
	if (st.evicted > st.flows || st.held > frame || st.duplicates > frame)
		__builtin_trap();
	umpa_reasm_close(r);
	if (out.cap > (1u << 24))
		umpa_sbuf_free(&out);
	return 0;
}

/* ---- seeds ---- */

static size_t seg(uint8_t *b, size_t k, uint8_t fl, int16_t delta, uint8_t flags, const uint8_t *pay, size_t n)
{
	b[k++] = fl;
	b[k++] = (uint8_t)((uint16_t)delta >> 8);
	b[k++] = (uint8_t)delta;
	b[k++] = flags;
	b[k++] = (uint8_t)(n >> 8);
	b[k++] = (uint8_t)n;
	if (n)
		memcpy(b + k, pay, n);
	return k + n;
}

static void write_seed(const char *dir, const char *name, const uint8_t *b, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")))
		exit(1);
	fwrite(b, 1, n, f);
	fclose(f);
}

/* UMPA_FUZZ_REASM_SEEDS=DIR: write the seeds into DIR and exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("UMPA_FUZZ_REASM_SEEDS");
	/* a TLS 1.2 ClientHello-ish handshake record, then two application data records */
	static uint8_t recs[3 * 5 + 40 + 16 + 24];
	static uint8_t b[4096];
	size_t k, nrec = 0;

	(void)argc;
	(void)argv;
	print_out = getenv("UMPA_FUZZ_REASM_PRINT") != NULL;
	if (!dir)
		return 0;
	recs[nrec++] = 22;
	recs[nrec++] = 3;
	recs[nrec++] = 3;
	recs[nrec++] = 0;
	recs[nrec++] = 40;
	recs[nrec++] = 1; /* client_hello, length 36 */
	recs[nrec++] = 0;
	recs[nrec++] = 0;
	recs[nrec++] = 36;
	recs[nrec++] = 3;
	recs[nrec++] = 3;
	nrec += 34;
	for (int r = 0; r < 2; r++) {
		size_t len = r ? 24 : 16;
		recs[nrec++] = 23;
		recs[nrec++] = 3;
		recs[nrec++] = 3;
		recs[nrec++] = 0;
		recs[nrec++] = (uint8_t)len;
		memset(recs + nrec, 'a' + r, len);
		nrec += len;
	}
	/* in order, split at 7 and 30 */
	k = 0;
	b[k++] = 0x00;
	k = seg(b, k, 0, 0, 0x02, NULL, 0);
	k = seg(b, k, 0, 0, 0x18, recs, 7);
	k = seg(b, k, 0, 0, 0x18, recs + 7, 23);
	k = seg(b, k, 0, 0, 0x18, recs + 30, nrec - 30);
	k = seg(b, k, 0, 0, 0x11, NULL, 0);
	write_seed(dir, "in-order", b, k);
	/* out of order: the second piece first (delta +7), then the first (delta -37) */
	k = 0;
	b[k++] = 0x10;
	k = seg(b, k, 0, 7, 0x18, recs + 7, 30);
	k = seg(b, k, 0, -37, 0x18, recs, 7);
	k = seg(b, k, 0, 30, 0x18, recs + 37, nrec - 37);
	write_seed(dir, "out-of-order", b, k);
	/* duplicates and an overlap */
	k = 0;
	b[k++] = 0x20;
	k = seg(b, k, 0, 0, 0x18, recs, 20);
	k = seg(b, k, 0, -20, 0x18, recs, 20);
	k = seg(b, k, 0, -10, 0x18, recs + 10, 30);
	k = seg(b, k, 0, 0, 0x18, recs + 40, nrec - 40);
	write_seed(dir, "dup-overlap", b, k);
	/* across the wrap, both directions, two flows, IPv6, small limits */
	k = 0;
	b[k++] = 0x40 | 0x80 | 0x05;
	for (size_t off = 0; off < nrec; off += 9) {
		size_t n = nrec - off < 9 ? nrec - off : 9;
		k = seg(b, k, 0x08, 0, 0x18, recs + off, n);
		k = seg(b, k, 0x05, 0, 0x18, recs + off, n);
	}
	k = seg(b, k, 0x04, 0, 0x04, NULL, 0);
	write_seed(dir, "wrap-flows", b, k);
	/* decryption: the ClientHello above (random of zeros) from the client; a ServerHello (TLS 1.3 through
	 * supported_versions with TLS_AES_128_GCM_SHA256, or TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256) and
	 * encrypted records back; the client's ChangeCipherSpec and an encrypted record */
	for (int v13 = 0; v13 < 2; v13++) {
		uint8_t sh[64], enc[5 + 40], ccs[6] = {20, 3, 3, 0, 1, 1};
		size_t m = 0, hs;
		sh[m++] = 22, sh[m++] = 3, sh[m++] = 3, sh[m++] = 0, sh[m++] = 0; /* record length below */
		sh[m++] = 2, sh[m++] = 0, sh[m++] = 0, sh[m++] = 0;               /* ServerHello, length below */
		hs = m;
		sh[m++] = 3, sh[m++] = 3;
		memset(sh + m, 1, 32);
		m += 32;
		sh[m++] = 0;                                                           /* no session id */
		sh[m++] = v13 ? 0x13 : 0xc0, sh[m++] = v13 ? 0x01 : 0x2f, sh[m++] = 0; /* suite, compression */
		sh[m++] = 0, sh[m++] = v13 ? 6 : 0;                                    /* extensions */
		if (v13)
			sh[m++] = 0, sh[m++] = 43, sh[m++] = 0, sh[m++] = 2, sh[m++] = 3, sh[m++] = 4;
		sh[4] = (uint8_t)(m - 5);
		sh[8] = (uint8_t)(m - hs);
		enc[0] = 23, enc[1] = 3, enc[2] = 3, enc[3] = 0, enc[4] = 40;
		memset(enc + 5, 0x5a, 40);
		k = 0;
		b[k++] = 0x00;
		k = seg(b, k, 0, 0, 0x18, recs, 45);
		k = seg(b, k, 0x04, 0, 0x18, sh, m);
		if (!v13)
			k = seg(b, k, 0x04, 0, 0x18, ccs, sizeof(ccs));
		k = seg(b, k, 0x04, 0, 0x18, enc, sizeof(enc));
		k = seg(b, k, 0, 0, 0x18, ccs, sizeof(ccs));
		k = seg(b, k, 0, 0, 0x18, enc, sizeof(enc));
		write_seed(dir, v13 ? "decrypt-tls13" : "decrypt-tls12", b, k);
	}
	printf("6\n");
	exit(0);
}
