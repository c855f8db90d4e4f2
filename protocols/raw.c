/* raw.c - payload bytes no protocol claims (Wireshark's "data"; no RFC).
 *
 * A raw layer is all header: its one field, data.data ("load"), is the whole
 * window, so l->hlen == l->len.  Dissecting claims everything left; building
 * starts empty (umpa_pkt_push_bytes fills it) and `load` replaces the bytes.
 *
 * load spec (not an item list like other VAR fields: the bytes are one value):
 *   0x<hex> or hex:<hex>  bytes in hex; ':', '-', '.' and spaces between
 *                         byte pairs are ignored ("0xdeadbeef", "hex:de:ad")
 *   text:<anything>       the bytes after "text:" as they are
 *   <anything else>       the text itself, byte for byte ("GET / HTTP/1.0")
 *
 * Summary: nothing (the layer before it has said what it is: "UDP, length
 * 12") unless the packet is only raw bytes: "raw, length N".
 *
 * Matching (Scapy's Raw): payload bytes never prevent an answer.
 */
#include <ctype.h>
#include <string.h>

#include "proto_common.h"
#include "umpa_protos.h"
#include "umpa_render.h"

/* Field indexes: the order of raw_fields. */
enum { F_LOAD, F_COUNT };

static const struct umpa_field raw_fields[] = {
    [F_LOAD] = {.name = "load",
		.ws = "data.data",
		.aliases = "data,payload",
		.type = UMPA_FT_VAR,
		.help = "payload bytes: 0x<hex> or hex:<hex> (\"0xdead:beef\"), text:<text>, or plain text"},
};
UMPA_FIELDS_CHECK(raw_fields, F_COUNT);

static const struct umpa_proto *raw_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];

	l->hlen = l->len;
	return NULL;
}

/* Replace the whole layer with the spec's bytes.  Hex is decoded straight
 * into the packet (after a splice of zeros), so nothing is allocated. */
static int raw_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
		       struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	const char *hex = NULL;
	size_t n;
	int rc;

	(void)f;
	if (spec[0] == '0' && (spec[1] == 'x' || spec[1] == 'X'))
		hex = spec + 2;
	else if (strncmp(spec, "hex:", 4) == 0)
		hex = spec + 4;
	else if (strncmp(spec, "text:", 5) == 0)
		spec += 5;

	if (hex) {
		/* count first (SIZE_MAX: no limit but the packet's), then decode in place */
		long k = umpa_spec_hex(umpa_span_of(hex), NULL, SIZE_MAX);

		if (k < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "data.data: '%.40s' is not hex bytes (use text:... for text)", spec);
		if ((unsigned long)k > UMPA_MAX_PKT)
			return umpa_err_set(e, UMPA_ERANGE, "data.data: %ld bytes is too long", k);
		if ((rc = umpa_pkt_splice(p, li, 0, l->hlen, NULL, (uint32_t)k, e)) < 0)
			return rc;
		umpa_spec_hex(umpa_span_of(hex), p->data + p->l[li].off, (size_t)k);
		return 0;
	}
	n = strlen(spec);
	if (n > UMPA_MAX_PKT)
		return umpa_err_set(e, UMPA_ERANGE, "data.data: %zu bytes is too long", n);
	return umpa_pkt_splice(p, li, 0, l->hlen, spec, (uint32_t)n, e);
}

static void raw_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	const uint8_t *b;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_ptr_at(&c, 0, l->hlen, &b) < 0)
		return;
	umpa_emit_bytes(em, "data.data", b, l->hlen);
	umpa_emit_u64(em, "data.len", l->hlen, NULL);
}

static void raw_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	if (p->nlayers != 1 || li != 0)
		return;
	umpa_sbuf_puts(out, "raw, length ");
	umpa_sbuf_put_u64(out, p->wirelen);
}

const struct umpa_proto umpa_proto_raw = {
    .name = "raw",
    .aliases = "data,payload,Raw,Padding",
    .title = "Data",
    .fields = raw_fields,
    .nfields = F_COUNT,
    .hdr_len = 0,
    .pflags = UMPA_PF_RAW,
    .dissect = raw_dissect,
    .set_var = raw_set_var,
    .details = raw_details,
    .summary = raw_summary,
    /* no hashret/answers: payload bytes never prevent an answer */
};
