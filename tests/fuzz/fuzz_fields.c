/* fuzz_fields.c - libFuzzer target: building packets from field text, the path of
 * packet expressions (`ip{ttl="..."}`) and option specs ("mss=1460,sackok,...").
 *
 * Input: byte 0 gives the number of layers (1 + b % 4), the next bytes pick
 * their protocols from the registry; the rest is lines, each "L F TEXT": byte L
 * picks a layer (bit 7: unset the field instead), byte F one of its fields, and
 * TEXT is handed to umpa_field_set_str() (numbers, names, flags, addresses,
 * hex bytes, VAR specs that splice options in).  Errors are fine; memory
 * errors, leaks and broken layer windows are not.  The packet is then finished,
 * rendered, and its bytes dissected again and checked exactly as fuzz_dissect
 * checks a frame (one-line summary, no control characters, strict JSON).
 *
 * Built and run by tests/fuzz/run.sh.
 */
#define LLVMFuzzerTestOneInput fuzz_dissect_one
#include "fuzz_dissect.c"
#undef LLVMFuzzerTestOneInput

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct umpa_pkt built;

/* Every layer's window and header inside the bytes, layers in order. */
static void check_layers(const struct umpa_pkt *p)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		if (l->off > p->len || l->len > p->len - l->off || l->hlen > l->len)
			__builtin_trap();
	}
}

/* ---- seeds: written by the target itself, which knows the registry's indexes ---- */

/* Typical field texts and the option specs documented in the protocol files. */
static const char *const seed_texts[] = {
    "1",
    "0x10",
    "65535",
    "10.0.0.1",
    "fe80::1",
    "00:11:22:33:44:55",
    "SA",
    "syn|ack",
    "echo-request",
    "deadbeef",
    "mss=1460,sackok,ts=100:0,nop,wscale=7,eol",
    "sack=1-2:3-4,nop,nop",
    "rr=3,nop,ra",
    "lsrr=10.0.0.1:10.0.0.2,ts=100",
    "ts=1:2:3:4",
    "raw=4403",
    "padn=2,ra=0",
    "jumbo,padn=2",
    "5=0000",
    "fe80::1,2001:db8::2",
    "slla=00:11:22:33:44:55,mtu=1500",
    "prefix=2001:db8::/64:c0:100:50",
    "example.com:A,example.org:AAAA",
    "www.example.com:MX:IN",
    ".:OPT:1232:do:cookie=0102030405060708",
    "a.example:CNAME:IN:300:b.example",
    "10/mail.example.com",
    "ecs=10.0.0.0/8",
    "nsid",
    "GET / HTTP/1.0",
    "0x0132.1=800000d1,0x0000.0x80=0000000c",
    "message_type=offer,server_id=10.0.0.1,lease_time=3600,dns=10.0.0.1:10.0.0.2,param_req_list=1:3:6,end,pad",
    "61=0102000000000001,domain_name=example.com",
    "",
};

static size_t proto_index(const struct umpa_proto *pr)
{
	size_t n;
	const struct umpa_proto *const *all = umpa_protos(&n);

	for (size_t i = 0; i < n; i++)
		if (all[i] == pr)
			return i;
	return 0;
}

/* The usual layers under @p pr (so the bytes dissect back to it), outermost first. */
static unsigned seed_stack(const struct umpa_proto *pr, const struct umpa_proto **st)
{
	unsigned n = 0;
	int v6 = pr == &umpa_proto_icmpv6 || pr == &umpa_proto_ipv6_hop || pr == &umpa_proto_ipv6_route ||
		 pr == &umpa_proto_ipv6_frag || pr == &umpa_proto_ipv6_dst;

	if (pr != &umpa_proto_sll && pr != &umpa_proto_sll2 && pr != &umpa_proto_null && pr != &umpa_proto_eth)
		st[n++] = &umpa_proto_eth;
	if (v6)
		st[n++] = &umpa_proto_ipv6;
	else if (pr == &umpa_proto_tcp || pr == &umpa_proto_udp || pr == &umpa_proto_icmp || pr == &umpa_proto_dns ||
		 pr == &umpa_proto_gre || pr == &umpa_proto_erspan || pr == &umpa_proto_geneve ||
		 pr == &umpa_proto_dhcp)
		st[n++] = &umpa_proto_ip;
	if (pr == &umpa_proto_dns || pr == &umpa_proto_geneve || pr == &umpa_proto_dhcp)
		st[n++] = &umpa_proto_udp;
	if (pr == &umpa_proto_erspan)
		st[n++] = &umpa_proto_gre;
	st[n++] = pr;
	return n;
}

static void write_seed(const char *dir, unsigned *count, const uint8_t *b, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/gen-%u", dir, (*count)++);
	if (!(f = fopen(path, "wb"))) {
		perror(path);
		exit(1);
	}
	fwrite(b, 1, n, f);
	fclose(f);
}

/* For every field of every protocol (in its usual stack): a few texts; for VAR fields all of them. */
static void write_seeds(const char *dir)
{
	size_t nprotos;
	const struct umpa_proto *const *protos = umpa_protos(&nprotos);
	const size_t ntexts = sizeof(seed_texts) / sizeof(seed_texts[0]);
	unsigned count = 0;

	for (size_t i = 0; i < nprotos; i++) {
		const struct umpa_proto *st[4], *pr = protos[i];
		const struct umpa_field *type = umpa_proto_field(pr, "type");
		unsigned n = seed_stack(pr, st), top = n - 1;

		for (unsigned fi = 0; fi < pr->nfields; fi++) {
			const struct umpa_field *f = &pr->fields[fi];
			int var = f->type == UMPA_FT_VAR;
			for (size_t t = 0; t < ntexts; t++) {
				uint8_t b[512];
				size_t k = 0, len = strlen(seed_texts[t]);
				if (!var && t % 4 != fi % 4) /* plain fields: a quarter of the texts */
					continue;
				b[k++] = (uint8_t)(n - 1);
				for (unsigned j = 0; j < n; j++)
					b[k++] = (uint8_t)proto_index(st[j]);
				if (var && type && type != f) { /* options may need a message type first (ND: 135) */
					b[k++] = (uint8_t)top;
					b[k++] = (uint8_t)umpa_field_index(pr, type);
					memcpy(b + k, "135\n", 4);
					k += 4;
				}
				b[k++] = (uint8_t)top;
				b[k++] = (uint8_t)fi;
				memcpy(b + k, seed_texts[t], len);
				k += len;
				write_seed(dir, &count, b, k);
			}
		}
	}
	printf("%u\n", count);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* UMPA_FUZZ_FIELDS_SEEDS=DIR: write the seeds into DIR and exit (tests/fuzz/run.sh does this). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("UMPA_FUZZ_FIELDS_SEEDS");

	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nprotos, at;
	const struct umpa_proto *const *protos = umpa_protos(&nprotos);
	struct umpa_err e = {0};
	char text[4097];
	unsigned n;
	int lt;

	if (size < 2 || nprotos == 0)
		return 0;
	umpa_pkt_release(&built);
	n = 1 + data[0] % 4;
	at = 1;
	for (unsigned i = 0; i < n && at < size; i++, at++)
		if (umpa_pkt_push(&built, protos[data[at] % nprotos], &e) < 0)
			return 0;
	check_layers(&built);
	while (at + 2 <= size && built.nlayers) {
		unsigned li = data[at] % 128 % built.nlayers;
		const struct umpa_proto *pr = built.l[li].proto;
		int unset = data[at] & 0x80;
		const uint8_t *nl = memchr(data + at + 2, '\n', size - at - 2);
		size_t len = (nl ? (size_t)(nl - data) : size) - at - 2;

		if (pr->nfields) {
			const struct umpa_field *f = &pr->fields[data[at + 1] % pr->nfields];
			if (len > sizeof(text) - 1)
				len = sizeof(text) - 1;
			memcpy(text, data + at + 2, len);
			text[len] = 0;
			if (unset)
				umpa_field_unset(&built, li, f);
			else
				(void)umpa_field_set_str(&built, li, f, text, &e);
			check_layers(&built);
		}
		at = nl ? (size_t)(nl - data) + 1 : size;
	}
	(void)umpa_pkt_finish(&built, &e);
	check_layers(&built);
	render_all(&built, 1);
	match_hooks(&built);

	/* the bytes as a capture would bring them back */
	lt = built.nlayers ? umpa_linktype_for_proto(built.l[0].proto) : -1;
	umpa_pkt_attach(&pkt, built.data, built.len, built.len, lt < 0 ? UMPA_LINKTYPE_ETHERNET : lt);
	umpa_dissect(&pkt);
	check_layers(&pkt);
	render_all(&pkt, 2);
	match_hooks(&pkt);
	umpa_pkt_clear(&pkt);
	return 0;
}
