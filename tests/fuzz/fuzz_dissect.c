/* fuzz_dissect.c - libFuzzer target: every dissector and renderer over arbitrary frames.
 *
 * Input: byte 0 picks the link type (low 3 bits: ETHERNET, RAW, LINUX_SLL,
 * LINUX_SLL2, NULL, LOOP, IPV4, IPV6), bit 6 says the frame was cut by the
 * capture (its wire length is longer); the rest is the frame.  The frame is
 * borrowed read-only (libFuzzer hands it over in an exactly-sized heap block,
 * so any read past the end is an AddressSanitizer report), dissected, then
 * rendered as a line, a tree and JSON, and every layer's hashret/answers
 * hooks run against the packet itself.  When bit 7 of byte 0 is set the packet
 * is also copied, its "set" masks cleared and finished (lengths, checksums and
 * protocol numbers recomputed over whatever the dissectors found), then
 * dissected and rendered again.
 *
 * Built and run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "umpa_packet.h"
#include "umpa_protos.h"
#include "umpa_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[8] = {
	UMPA_LINKTYPE_ETHERNET, UMPA_LINKTYPE_RAW,  UMPA_LINKTYPE_LINUX_SLL, UMPA_LINKTYPE_LINUX_SLL2,
	UMPA_LINKTYPE_NULL,     UMPA_LINKTYPE_LOOP, UMPA_LINKTYPE_IPV4,      UMPA_LINKTYPE_IPV6,
};

/* Reused across inputs, as umpa show reuses its buffer. */
static struct umpa_sbuf out;
static struct umpa_pkt pkt, copy;

static void render_all(const struct umpa_pkt *p, uint64_t n)
{
	struct umpa_render_opts ro = {.number = n, .ts_nsec = (int)(n & 1)};

	umpa_sbuf_reset(&out);
	umpa_render_line(p, &ro, &out);
	umpa_render_tree(p, &ro, &out);
	umpa_render_json(p, &ro, &out);
	/* the text must be NUL-terminated where the sbuf says it ends */
	if (out.s && strlen(out.s) > out.len)
		__builtin_trap();
	if (out.len > (1u << 24)) /* never keep a huge buffer between inputs */
		umpa_sbuf_free(&out);
}

static void match_hooks(const struct umpa_pkt *p)
{
	char why[128];

	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_proto *pr = p->l[i].proto;
		if (pr->hashret)
			(void)pr->hashret(p, i);
		if (pr->answers) {
			why[0] = 0;
			(void)pr->answers(p, i, p, i, why, sizeof(why));
			if (memchr(why, 0, sizeof(why)) == NULL)
				__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct umpa_err e = {0};
	int lt;

	if (size < 1 || size - 1 > UMPA_MAX_PKT)
		return 0;
	lt = linktypes[data[0] & 7];
	/* bit 6: the frame was longer on the wire (capture cut it: TRUNCATED, not INVALID) */
	umpa_pkt_attach(&pkt, data + 1, (uint32_t)(size - 1), (uint32_t)(size - 1) + (data[0] & 0x40 ? 1000 : 0), lt);
	pkt.ts_sec = 1700000000 + (int64_t)size;
	pkt.ts_nsec = 123456789;
	if (umpa_dissect(&pkt) > UMPA_MAX_LAYERS)
		__builtin_trap();
	for (unsigned i = 0; i < pkt.nlayers; i++) {
		const struct umpa_layer *l = &pkt.l[i];
		/* the driver's contract: every window and header inside the bytes */
		if (l->off > pkt.len || l->len > pkt.len - l->off || l->hlen > l->len)
			__builtin_trap();
	}
	render_all(&pkt, 1);
	match_hooks(&pkt);

	if (data[0] & 0x80) {
		if (umpa_pkt_dup(&copy, &pkt, &e) == 0) {
			for (unsigned i = 0; i < copy.nlayers; i++)
				copy.l[i].set = 0;
			(void)umpa_pkt_finish(&copy, &e);
			render_all(&copy, 2);
			umpa_dissect(&copy);
			render_all(&copy, 3);
			match_hooks(&copy);
		}
		umpa_pkt_clear(&copy);
	}
	return 0;
}
