/* proto_common.h - internal: small pieces shared by several protocol files.
 *
 * Not installed.  Everything here is static inline, and names end with an
 * underscore: they are library-internal.
 *   - building: big-endian stores; details: text from the bytes;
 *   - matching: the reason a layer does not answer, a 32-bit hash finaliser,
 *     hashret and answers of the transports with a port pair (UDP, TCP, SCTP);
 *   - link-layer summaries (eth, sll, sll2, null): tcpdump's "ethertype NAME
 *     (0x....)" and ", length N" pieces;
 *   - the Linux cooked capture headers v1 and v2 (sll.c, sll2.c): the value
 *     names, the address as Wireshark shows it, the direction tcpdump prints.
 */
#ifndef UMPA_PROTO_COMMON_H
#define UMPA_PROTO_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "umpa_protos.h"
#include "umpa_render.h"
#include "umpa_sbuf.h"
#include "umpa_spec.h"

/* ---- matching ---- */

/** Write @p msg into @p why (when there is room) as the reason for not answering; returns 0 (no answer). */
static inline int umpa_why_(char *why, size_t whylen, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
	return 0;
}

/** A 32-bit finaliser (MurmurHash3's fmix32): spreads every input bit. */
static inline uint32_t umpa_mix32_(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/* ---- building ---- */

/** Store @p v big-endian in the 2 bytes at @p b. */
static inline void umpa_put_be16_(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/** Store @p v big-endian in the 4 bytes at @p b. */
static inline void umpa_put_be32_(uint8_t *b, uint32_t v)
{
	umpa_put_be16_(b, v >> 16);
	umpa_put_be16_(b + 2, v);
}

/* ---- details ---- */

/**
 * Emit the @p n bytes at @p at of @p c as the text @p key, up to its first
 * NUL and at most @p max bytes of it (511 at the most); nothing when the
 * bytes are not there.
 */
static inline void umpa_emit_text_(struct umpa_emit *em, const char *key, struct umpa_cur *c, size_t at, size_t n,
				   size_t max)
{
	char buf[512];
	size_t k = n < max ? n : max;

	if (k > sizeof buf - 1)
		k = sizeof buf - 1;
	if (umpa_cur_copy_at(c, at, k, buf) < 0)
		return;
	buf[k] = 0;
	umpa_emit_str(em, key, buf); /* stops at the first NUL */
}

/* ---- transports with a port pair (UDP, TCP, SCTP: source port at byte 0, destination at byte 2) ---- */

/** The ports of layer @p li into *@p sport and *@p dport.  Returns 0, or -1 when the layer is cut before them. */
static inline int umpa_ports_get_(const struct umpa_pkt *p, unsigned li, uint16_t *sport, uint16_t *dport)
{
	struct umpa_cur c;

	umpa_layer_cur(p, li, &c);
	return umpa_cur_be16_at(&c, 0, sport) < 0 || umpa_cur_be16_at(&c, 2, dport) < 0 ? -1 : 0;
}

/** A port-pair transport's hashret hook: the xor of the two ports, the same both ways (0 when cut). */
static inline uint32_t umpa_ports_hashret_(const struct umpa_pkt *p, unsigned li)
{
	uint16_t sport, dport;

	return umpa_ports_get_(p, li, &sport, &dport) < 0 ? 0 : (uint32_t)(sport ^ dport);
}

/**
 * Reply ports @p rs > @p rd against request ports @p qs > @p qd: 1 when the
 * reply comes from the port the request went to, to the port it came from;
 * else 0 with "NAME ports not swapped (rs>rd vs qs>qd)" in @p why.
 */
static inline int umpa_ports_swapped_(const char *name, uint16_t rs, uint16_t rd, uint16_t qs, uint16_t qd, char *why,
				      size_t whylen)
{
	if (rs == qd && rd == qs)
		return 1;
	if (why && whylen)
		snprintf(why, whylen, "%s ports not swapped (%u>%u vs %u>%u)", name, rs, rd, qs, qd);
	return 0;
}

/**
 * A port-pair transport's answers hook (UDP, SCTP; TCP checks the ports
 * with umpa_ports_swapped_ among its other rules): the ports swapped.  Scapy
 * checks only UDP's destination port; both are checked so that hashret, the
 * xor of both, stays equal for every pair this accepts.  The reason names
 * the layer's protocol.
 */
static inline int umpa_ports_answers_(const struct umpa_pkt *resp, unsigned rli, const struct umpa_pkt *req,
				      unsigned qli, char *why, size_t whylen)
{
	const char *name = resp->l[rli].proto->name;
	uint16_t rs, rd, qs, qd;

	if (umpa_ports_get_(resp, rli, &rs, &rd) < 0 || umpa_ports_get_(req, qli, &qs, &qd) < 0) {
		if (why && whylen)
			snprintf(why, whylen, "%s header missing", name);
		return 0;
	}
	return umpa_ports_swapped_(name, rs, rd, qs, qd, why, whylen);
}

/* ---- link-layer summaries ---- */

/**
 * tcpdump's "ethertype NAME (0x....)" for @p type; NAME is "Unknown" when
 * the Ethernet type table has none (values up to 1536 are 802.3 lengths or
 * Linux ETH_P_ numbers, never named).
 */
static inline void umpa_put_ethertype_(struct umpa_sbuf *out, uint16_t type)
{
	const char *name = type > 1536 ? umpa_vname_find(umpa_ethertype_names, type) : NULL;

	umpa_sbuf_puts(out, "ethertype ");
	umpa_sbuf_puts(out, name ? name : "Unknown");
	umpa_sbuf_puts(out, " (");
	umpa_sbuf_put_hex(out, type, 4);
	umpa_sbuf_putc(out, ')');
}

/**
 * ", length N" closing a link layer's summary: the packet's length on the
 * wire when layer @p li is the outermost, else the layer's length.
 */
static inline void umpa_put_link_length_(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	umpa_sbuf_puts(out, ", length ");
	umpa_sbuf_put_u64(out, li == 0 ? p->wirelen : p->l[li].len);
}

/* ---- Linux cooked captures v1 and v2 ---- */

/** sll.pkttype value names, {0, NULL}-terminated (sll.c). */
extern const struct umpa_vname umpa_sll_pkttype_names_[];

/** sll.hatype (ARPHRD_) value names, {0, NULL}-terminated (sll.c). */
extern const struct umpa_vname umpa_sll_hatype_names_[];

/* The fields SLL and SLL2 share, at their offsets (bits) in each header. */
#define UMPA_SLL_HATYPE_FIELD_(off_)                                                                                   \
	{                                                                                                              \
		.name = "hatype", .ws = "sll.hatype", .aliases = "lladdrtype", .bitoff = off_, .bits = 16,             \
		.type = UMPA_FT_ENUM, .flags = UMPA_F_AUTO, .def = 512, .names = umpa_sll_hatype_names_,               \
		.help = "ARPHRD_ link-layer address type (default 512 PPP; 1 Ethernet when src is set)"                \
	}
#define UMPA_SLL_PKTTYPE_FIELD_(off_, bits_)                                                                           \
	{                                                                                                              \
		.name = "pkttype", .ws = "sll.pkttype", .bitoff = off_, .bits = bits_, .type = UMPA_FT_ENUM,           \
		.names = umpa_sll_pkttype_names_,                                                                      \
		.help = "packet type: host (to us), broadcast, multicast, otherhost, outgoing (sent by us)"            \
	}
#define UMPA_SLL_HALEN_FIELD_(off_, bits_)                                                                             \
	{                                                                                                              \
		.name = "halen", .ws = "sll.halen", .aliases = "lladdrlen", .bitoff = off_, .bits = bits_,             \
		.type = UMPA_FT_UINT, .flags = UMPA_F_AUTO,                                                            \
		.help = "link-layer address length (default 0; 6 when src is set)"                                     \
	}
#define UMPA_SLL_SRC_FIELD_(off_)                                                                                      \
	{                                                                                                              \
		.name = "src.eth", .ws = "sll.src.eth", .aliases = "src", .bitoff = off_, .bits = 48,                  \
		.type = UMPA_FT_MAC, .flags = UMPA_F_HIDDEN, .help = "source MAC address (the first 6 address bytes)"  \
	}
#define UMPA_SLL_ADDR_FIELD_(off_)                                                                                     \
	{                                                                                                              \
		.name = "src.other", .ws = "sll.src.other", .aliases = "addr", .bitoff = off_, .bits = 64,             \
		.type = UMPA_FT_BYTES, .flags = UMPA_F_HIDDEN, .help = "the whole 8-byte address field"                \
	}

/**
 * Wireshark's view of the 8 address bytes at @p a: the used part (@p halen
 * bytes, at most 8) by its length as sll.src.eth, sll.src.ipv4 or
 * sll.src.other, then the unused rest as sll.unused.
 */
static inline void umpa_sll_emit_addr_(struct umpa_emit *em, const uint8_t *a, unsigned halen)
{
	unsigned n = halen > 8 ? 8 : halen;

	if (n == 6)
		umpa_emit_mac(em, "sll.src.eth", a);
	else if (n == 4)
		umpa_emit_ipv4(em, "sll.src.ipv4", a);
	else if (n > 0)
		umpa_emit_bytes(em, "sll.src.other", a, n);
	if (n < 8)
		umpa_emit_bytes(em, "sll.unused", a + n, 8 - n);
}

/** tcpdump's direction for packet type @p pkttype ("In", "B", "M", "P", "Out"; "?" otherwise) and a space. */
static inline void umpa_sll_put_dir_(struct umpa_sbuf *out, unsigned pkttype)
{
	static const char *const dir[] = {"In", "B", "M", "P", "Out"};

	umpa_sbuf_puts(out, pkttype < 5 ? dir[pkttype] : "?");
	umpa_sbuf_putc(out, ' ');
}

/* The number the registry binds the protocol of the layer after @li to under
 * @kind (the next-protocol value a header carries).  Returns 0, or -1 when
 * @li is the last layer or that protocol is not bound under @kind. */
static inline int umpa_next_bind_(const struct umpa_pkt *p, unsigned li, enum umpa_bind_kind kind, uint32_t *v)
{
	return li + 1 < p->nlayers ? umpa_proto_bind_value(kind, p->l[li + 1].proto, v) : -1;
}

/* finish(): fill next-protocol field @f of layer @li from the layer after it,
 * unless the user set it or nothing bound follows. */
static inline void umpa_auto_next_(struct umpa_pkt *p, unsigned li, const struct umpa_field *f,
				   enum umpa_bind_kind kind)
{
	uint32_t v;

	if (umpa_next_bind_(p, li, kind, &v) == 0)
		umpa_field_auto_u64(p, li, f, v);
}

#endif
