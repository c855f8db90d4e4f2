/*
 * sr_views.c - the views `umpa sr` prints after its exchanges.
 *
 * Traceroute (as traceroute and Scapy's traceroute() show it): for each
 * destination whose requests differ in TTL / hop limit, one line per TTL
 * with the address that answered (the router whose time-exceeded quotes the
 * probe, or the destination itself) and the RTT; "*" when nothing answered.
 *
 * Ports (as nmap names the states, with its --reason words): for TCP SYN
 * probes SYN/ACK is open (syn-ack), RST closed (reset), an ICMP destination
 * unreachable or no answer filtered (port-unreach / host-unreach ... or
 * no-response); for UDP probes any UDP answer is open (udp-response), ICMP
 * port unreachable closed (port-unreach), another unreachable filtered, no
 * answer open|filtered (no-response).  Several probes of one port: the one
 * that says most wins (open over closed over filtered).  Like nmap, a text
 * table shows every open port and lists a state of more than
 * SR_VIEW_ROWS ports as one "Not shown" line; JSON lists every port.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_views.h"
#include "umpa_protos.h"

/** A state with more ports than this is one "Not shown" line in text. */
#define SR_VIEW_ROWS 20

static uint64_t get_u(const struct umpa_pkt *p, int li, const struct umpa_proto *pr, const char *name)
{
	const struct umpa_field *f = umpa_proto_field(pr, name);
	uint64_t v = 0;

	if (li < 0 || !f || umpa_field_get_u64(p, (unsigned)li, f, &v) < 0)
		return 0;
	return v;
}

static int get_addr(const struct umpa_pkt *p, int li, const struct umpa_proto *pr, const char *name, uint8_t *out)
{
	const struct umpa_field *f = umpa_proto_field(pr, name);
	const uint8_t *b;
	uint32_t n;

	if (li < 0 || !f || umpa_field_get_bytes(p, (unsigned)li, f, &b, &n) < 0 || n > 16)
		return -1;
	memcpy(out, b, n);
	return 0;
}

/* The first of two layer indexes that exists (-1 when neither). */
static int first_of(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* The first IP or IPv6 layer of @p p and its family (4, 6; 0 none). */
static int first_ip(const struct umpa_pkt *p, int *fam)
{
	int v4 = umpa_pkt_find(p, &umpa_proto_ip, 0), v6 = umpa_pkt_find(p, &umpa_proto_ipv6, 0);
	int li = first_of(v4, v6);

	*fam = li < 0 ? 0 : li == v4 ? 4 : 6;
	return li;
}

void sr_rec_request(struct sr_rec *r, const struct umpa_pkt *p)
{
	int fam, li = first_ip(p, &fam), tcp, udp;
	const struct umpa_proto *ipp = fam == 4 ? &umpa_proto_ip : &umpa_proto_ipv6;

	memset(r, 0, sizeof(*r));
	r->rtt_ns = -1;
	if (li < 0)
		return;
	if (get_addr(p, li, ipp, "dst", r->dst) < 0)
		return;
	r->family = (uint8_t)fam;
	r->ttl = (uint8_t)get_u(p, li, ipp, fam == 4 ? "ttl" : "hlim");
	tcp = umpa_pkt_find(p, &umpa_proto_tcp, (unsigned)li);
	udp = umpa_pkt_find(p, &umpa_proto_udp, (unsigned)li);
	if (tcp >= 0 && (udp < 0 || tcp < udp)) {
		uint64_t fl = get_u(p, tcp, &umpa_proto_tcp, "flags");
		if ((fl & 0x12) == 0x02) { /* SYN without ACK */
			r->probe = 6;
			r->dport = (uint16_t)get_u(p, tcp, &umpa_proto_tcp, "dport");
		}
	} else if (udp >= 0) {
		r->probe = 17;
		r->dport = (uint16_t)get_u(p, udp, &umpa_proto_udp, "dport");
	}
}

void sr_rec_answer(struct sr_rec *r, const struct umpa_pkt *a, int64_t rtt_ns)
{
	int fam, li = first_ip(a, &fam), icmp, tcp, udp, k;

	r->outcome = SR_ANSWERED;
	r->rtt_ns = rtt_ns;
	r->kind = SR_K_OTHER;
	if (li < 0)
		return;
	if (get_addr(a, li, fam == 4 ? &umpa_proto_ip : &umpa_proto_ipv6, "src", r->hop) == 0)
		r->hop_family = (uint8_t)fam;
	icmp = first_of(umpa_pkt_find(a, &umpa_proto_icmp, (unsigned)li),
			umpa_pkt_find(a, &umpa_proto_icmpv6, (unsigned)li));
	tcp = umpa_pkt_find(a, &umpa_proto_tcp, (unsigned)li);
	udp = umpa_pkt_find(a, &umpa_proto_udp, (unsigned)li);
	k = first_of(icmp, first_of(tcp, udp)); /* the layer that answers (an error's quotation comes after it) */
	if (k < 0)
		return;
	if (k == icmp) {
		int v6 = a->l[k].proto == &umpa_proto_icmpv6;
		const struct umpa_proto *pr = v6 ? &umpa_proto_icmpv6 : &umpa_proto_icmp;
		uint64_t type = get_u(a, k, pr, "type"), code = get_u(a, k, pr, "code");
		if (type == (v6 ? 1 : 3))
			r->kind = code == (v6 ? 4 : 3) ? SR_K_PORT_UNREACH : SR_K_UNREACH;
		else if (type == (v6 ? 3 : 11))
			r->kind = SR_K_TIME_EXCEEDED;
	} else if (k == tcp) {
		uint64_t fl = get_u(a, k, &umpa_proto_tcp, "flags");
		r->kind = (fl & 0x04) ? SR_K_RST : (fl & 0x12) == 0x12 ? SR_K_SYNACK : SR_K_TCP;
	} else {
		r->kind = SR_K_UDP;
	}
}

/* One record's place in a sorted view. */
struct key {
	uint8_t fam, probe;
	uint8_t dst[16];
	uint16_t port;
	uint8_t ttl;
	size_t i;
};

static int by_dst_ttl(const void *x, const void *y)
{
	const struct key *a = x, *b = y;
	int c = a->fam - b->fam;

	if (!c)
		c = memcmp(a->dst, b->dst, 16);
	if (!c)
		c = a->ttl - b->ttl;
	if (!c)
		c = a->i < b->i ? -1 : a->i > b->i;
	return c;
}

static int by_dst_port(const void *x, const void *y)
{
	const struct key *a = x, *b = y;
	int c = a->fam - b->fam;

	if (!c)
		c = memcmp(a->dst, b->dst, 16);
	if (!c)
		c = a->probe - b->probe;
	if (!c)
		c = a->port - b->port;
	if (!c)
		c = a->i < b->i ? -1 : a->i > b->i;
	return c;
}

static int same_host(const struct key *a, const struct key *b)
{
	return a->fam == b->fam && memcmp(a->dst, b->dst, 16) == 0;
}

static const char *ntop(int fam, const uint8_t *a, char *buf, size_t n)
{
	if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

static void put_addr(struct umpa_sbuf *out, int fam, const uint8_t *a, int json)
{
	char t[INET6_ADDRSTRLEN];

	ntop(fam, a, t, sizeof(t));
	if (json)
		umpa_sbuf_put_json_str(out, t, strlen(t));
	else
		umpa_sbuf_puts(out, t);
}

/* ---- traceroute ---- */

static void trace_group(const struct sr_rec *r, const struct key *k, size_t n, int json, int *first_group,
			struct umpa_sbuf *out)
{
	const struct sr_rec *r0 = &r[k[0].i];

	if (json) {
		umpa_sbuf_puts(out, *first_group ? "{\"dst\":" : ",{\"dst\":");
		put_addr(out, r0->family, r0->dst, 1);
		umpa_sbuf_puts(out, ",\"hops\":[");
	} else {
		char t[INET6_ADDRSTRLEN];
		umpa_sbuf_printf(out, "Traceroute to %s (TTL: hop, RTT):\n", ntop(r0->family, r0->dst, t, sizeof(t)));
	}
	*first_group = 0;
	for (size_t a = 0, b; a < n; a = b) {
		const struct sr_rec *best = NULL;
		int unsent = 0;
		for (b = a; b < n && k[b].ttl == k[a].ttl; b++) {
			const struct sr_rec *x = &r[k[b].i];
			if (x->outcome == SR_ANSWERED && x->hop_family && !best)
				best = x;
			unsent |= x->outcome == SR_UNSENT;
		}
		if (json) {
			umpa_sbuf_printf(out, "%s{\"ttl\":%u,\"hop\":", a ? "," : "", k[a].ttl);
			if (best) {
				put_addr(out, best->hop_family, best->hop, 1);
				umpa_sbuf_printf(out, ",\"rtt_us\":%.3f,\"reached\":%s}", (double)best->rtt_ns / 1000.0,
						 best->hop_family == best->family && !memcmp(best->hop, best->dst, 16)
						     ? "true"
						     : "false");
			} else {
				umpa_sbuf_puts(out, "null,\"rtt_us\":null,\"reached\":false}");
			}
			continue;
		}
		umpa_sbuf_printf(out, "  %3u  ", k[a].ttl);
		if (best) {
			put_addr(out, best->hop_family, best->hop, 0);
			umpa_sbuf_printf(out, "  %.3f ms%s\n", (double)best->rtt_ns / 1e6,
					 best->hop_family == best->family && !memcmp(best->hop, best->dst, 16)
					     ? "  (destination)"
					     : "");
		} else {
			umpa_sbuf_puts(out, unsent ? "*  (not sent)\n" : "*\n");
		}
	}
	if (json)
		umpa_sbuf_puts(out, "]}");
}

static void traceroute(const struct sr_rec *r, struct key *k, size_t n, int json, struct umpa_sbuf *out)
{
	size_t m = 0;
	int first = 1, any = 0;

	for (size_t i = 0; i < n; i++)
		if (r[i].family)
			k[m++] = (struct key){.fam = r[i].family, .ttl = r[i].ttl, .i = i};
	for (size_t i = 0; i < m; i++)
		memcpy(k[i].dst, r[k[i].i].dst, 16);
	qsort(k, m, sizeof(*k), by_dst_ttl);
	for (size_t a = 0, b; a < m; a = b) {
		for (b = a; b < m && same_host(&k[a], &k[b]); b++)
			;
		if (k[a].ttl == k[b - 1].ttl)
			continue; /* one TTL: no route to show */
		if (!any)
			umpa_sbuf_puts(out, json ? ",\"traceroute\":[" : "");
		any = 1;
		trace_group(r, k + a, b - a, json, &first, out);
	}
	if (any && json)
		umpa_sbuf_putc(out, ']');
}

/* ---- ports ---- */

enum pstate { P_NONE = 0, P_OPEN_FILTERED, P_FILTERED, P_CLOSED, P_OPEN, P_NSTATES };

static const char *const pstate_name[P_NSTATES] = {"", "open|filtered", "filtered", "closed", "open"};

/* What one probe says about its port, and why (nmap's --reason words). */
static enum pstate probe_state(const struct sr_rec *x, const char **why)
{
	*why = "no-response";
	if (x->outcome == SR_LOST)
		return x->probe == 6 ? P_FILTERED : P_OPEN_FILTERED;
	if (x->outcome != SR_ANSWERED)
		return P_NONE;
	switch (x->kind) {
	case SR_K_SYNACK:
		*why = "syn-ack";
		return x->probe == 6 ? P_OPEN : P_NONE;
	case SR_K_RST:
		*why = "reset";
		return x->probe == 6 ? P_CLOSED : P_NONE;
	case SR_K_UDP:
		*why = "udp-response";
		return x->probe == 17 ? P_OPEN : P_NONE;
	case SR_K_PORT_UNREACH:
		*why = "port-unreach";
		return x->probe == 17 ? P_CLOSED : P_FILTERED;
	case SR_K_UNREACH:
		*why = "icmp-unreach";
		return P_FILTERED;
	default:
		return P_NONE; /* a time-exceeded (a traceroute probe) or an answer that says nothing of the port */
	}
}

struct prow {
	enum pstate st;
	const char *why;
	const struct sr_rec *x;
};

/* The state of the port whose probes are k[0..n): the one that says most. */
static struct prow port_state(const struct sr_rec *r, const struct key *k, size_t n)
{
	struct prow best = {P_NONE, "", NULL};

	for (size_t j = 0; j < n; j++) {
		const char *why;
		enum pstate st = probe_state(&r[k[j].i], &why);
		if (st > best.st)
			best = (struct prow){st, why, &r[k[j].i]};
	}
	return best;
}

static void ports(const struct sr_rec *r, struct key *k, size_t n, int json, struct umpa_sbuf *out)
{
	size_t m = 0;
	int any = 0;

	for (size_t i = 0; i < n; i++)
		if (r[i].family && r[i].probe && r[i].outcome != SR_UNSENT)
			k[m++] = (struct key){.fam = r[i].family, .probe = r[i].probe, .port = r[i].dport, .i = i};
	for (size_t i = 0; i < m; i++)
		memcpy(k[i].dst, r[k[i].i].dst, 16);
	qsort(k, m, sizeof(*k), by_dst_port);
	for (size_t h = 0, he; h < m; h = he) { /* one host */
		size_t count[2][P_NSTATES] = {{0}};
		const char *why1[2][P_NSTATES] = {{0}};
		int head = 0;
		for (he = h; he < m && same_host(&k[h], &k[he]); he++)
			;
		for (int pass = 0; pass < 2; pass++) { /* count the states, then print */
			for (size_t a = h, b; a < he; a = b) {
				struct prow pr;
				char pc[16];
				int t = k[a].probe == 17;
				for (b = a; b < he && k[b].probe == k[a].probe && k[b].port == k[a].port; b++)
					;
				pr = port_state(r, k + a, b - a);
				if (pr.st == P_NONE)
					continue;
				if (pass == 0) {
					if (!count[t][pr.st]++)
						why1[t][pr.st] = pr.why;
					continue;
				}
				if (json) {
					umpa_sbuf_puts(out, any ? "," : ",\"ports\":[");
					umpa_sbuf_puts(out, "{\"host\":");
					put_addr(out, pr.x->family, pr.x->dst, 1);
					umpa_sbuf_printf(
					    out, ",\"port\":%u,\"proto\":\"%s\",\"state\":\"%s\",\"reason\":\"%s\"}",
					    k[a].port, t ? "udp" : "tcp", pstate_name[pr.st], pr.why);
					any = 1;
					continue;
				}
				if (pr.st != P_OPEN && count[t][pr.st] > SR_VIEW_ROWS)
					continue;
				if (!head) {
					char tx[INET6_ADDRSTRLEN];
					umpa_sbuf_printf(out, "Ports of %s:\nPORT       STATE          REASON\n",
							 ntop(pr.x->family, pr.x->dst, tx, sizeof(tx)));
					head = 1;
				}
				snprintf(pc, sizeof(pc), "%u/%s", k[a].port, t ? "udp" : "tcp");
				umpa_sbuf_printf(out, "%-10s %-14s %s\n", pc, pstate_name[pr.st], pr.why);
			}
		}
		if (json)
			continue;
		for (int t = 0; t < 2; t++)
			for (int st = P_OPEN_FILTERED; st < P_OPEN; st++) {
				if (count[t][st] <= SR_VIEW_ROWS)
					continue;
				if (!head) {
					char tx[INET6_ADDRSTRLEN];
					umpa_sbuf_printf(out, "Ports of %s:\n",
							 ntop(k[h].fam, k[h].dst, tx, sizeof(tx)));
					head = 1;
				}
				umpa_sbuf_printf(out, "Not shown: %zu %s %s ports (%s)\n", count[t][st],
						 pstate_name[st], t ? "udp" : "tcp", why1[t][st]);
			}
	}
	if (any)
		umpa_sbuf_putc(out, ']');
}

void sr_views(const struct sr_rec *r, size_t n, int json, struct umpa_sbuf *out)
{
	struct key *k;

	if (!n || !(k = malloc(n * sizeof(*k))))
		return;
	traceroute(r, k, n, json, out);
	ports(r, k, n, json, out);
	free(k);
}
