/* test_tls_dissect.c - the TLS dissector and TCP reassembly, checked against tshark on conversations that
 * OpenSSL makes in this process (client and server over memory BIOs, carried by the userland TCP stream). */
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "umpa_reasm.h"
#include "umpa_tcpstream.h"
#include "unit.h"

/* ---- a TLS conversation as packets ---- */

struct coll {
	struct umpa_pkt *pk;
	size_t n, cap;
};

static int collect(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct coll *c = arg;

	(void)comment;
	(void)e;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->pk = realloc(c->pk, c->cap * sizeof(*c->pk));
		assert_non_null(c->pk);
	}
	umpa_pkt_init(&c->pk[c->n]);
	assert_int_equal(umpa_pkt_dup(&c->pk[c->n], p, NULL), 0);
	c->n++;
	return 0;
}

static void coll_free(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		umpa_pkt_release(&c->pk[i]);
	free(c->pk);
	memset(c, 0, sizeof(*c));
}

/** What conversation() makes. */
struct conv_opts {
	int version;         /* TLS1_2_VERSION or TLS1_3_VERSION */
	const char *ciphers; /* TLS 1.2 cipher list, or NULL */
	uint32_t seg_max;    /* TCP segment size limit (1: byte by byte), 0: the MSS */
	double reorder, dup; /* hostile TCP */
	uint64_t seed;
	size_t appdata; /* bytes the server sends back */
	int alert;      /* the client ends with close_notify */
};

static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca_cert, *leaf_cert;

/* A certificate for @p key named O=umpa tests, CN=@p cn, signed by @p ikey (issuer @p icert, or itself). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, long serial, X509 *icert, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"umpa tests", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, icert ? X509_get_subject_name(icert) : n);
	assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static int group_setup(void **state)
{
	(void)state;
	ca_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	if (!ca_key || !leaf_key)
		return -1;
	ca_cert = make_cert(ca_key, "umpa test CA", 1, NULL, NULL);
	leaf_cert = make_cert(leaf_key, "server.umpa.test", 2, ca_cert, ca_key);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	X509_free(ca_cert);
	X509_free(leaf_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	(void)s;
	(void)arg;
	if (inlen < 1 || in[0] + 1u > inlen)
		return SSL_TLSEXT_ERR_NOACK;
	*out = in + 1;
	*outlen = in[0];
	return SSL_TLSEXT_ERR_OK;
}

/* Move what @p from wrote into @p to's read BIO and onto the TCP stream as @p side's data. */
static void pump(SSL *from, SSL *to, struct umpa_tcps *t, enum umpa_tcps_side side)
{
	static uint8_t buf[1 << 17];
	BIO *w = SSL_get_wbio(from);
	size_t n = 0;
	int k;
	struct umpa_err e = {0};

	while (n < sizeof(buf) && (k = BIO_read(w, buf + n, (int)(sizeof(buf) - n))) > 0)
		n += (size_t)k;
	if (n == 0)
		return;
	assert_int_equal(BIO_write(SSL_get_rbio(to), buf, (int)n), (int)n);
	if (umpa_tcps_send(t, side, buf, n, NULL, &e) < 0)
		fail_msg("tcps send: %s", e.msg);
}

/* Append to @p c (zeroed or holding earlier conversations) a whole conversation: handshake (SNI server.umpa.test, ALPN
 * h2/http1.1, a certificate chain of two), a request, @p o->appdata bytes back, close_notify, FIN. */
static void conversation(const struct conv_opts *o, struct coll *c, const char *path)
{
	struct umpa_tcps_opts to;
	struct umpa_tcps *t;
	struct umpa_err e = {0};
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
	SSL *sv, *cl;
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	static uint8_t data[1 << 16];
	char rd[4096];

	umpa_tcps_opts_init(&to);
	to.seed = o->seed;
	to.seg_max = o->seg_max;
	to.reorder = o->reorder;
	to.dup = o->dup;
	t = umpa_tcps_new(&to, collect, c, &e);
	if (!t)
		fail_msg("tcps: %s", e.msg);
	assert_int_equal(umpa_tcps_connect(t, &e), 0);

	assert_non_null(sc);
	assert_non_null(cc);
	SSL_CTX_set_min_proto_version(sc, o->version);
	SSL_CTX_set_max_proto_version(sc, o->version);
	SSL_CTX_set_min_proto_version(cc, o->version);
	SSL_CTX_set_max_proto_version(cc, o->version);
	if (o->ciphers) {
		assert_int_equal(SSL_CTX_set_cipher_list(sc, o->ciphers), 1);
		assert_int_equal(SSL_CTX_set_cipher_list(cc, o->ciphers), 1);
	}
	assert_int_equal(SSL_CTX_use_certificate(sc, leaf_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sc, leaf_key), 1);
	X509_up_ref(ca_cert);
	assert_int_equal(SSL_CTX_add_extra_chain_cert(sc, ca_cert), 1);
	SSL_CTX_set_alpn_select_cb(sc, alpn_select, NULL);
	sv = SSL_new(sc);
	cl = SSL_new(cc);
	SSL_set_bio(sv, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	SSL_set_bio(cl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	SSL_set_accept_state(sv);
	SSL_set_connect_state(cl);
	SSL_set_tlsext_host_name(cl, "server.umpa.test");
	assert_int_equal(SSL_set_alpn_protos(cl, alpn, sizeof(alpn) - 1), 0);
	for (int i = 0; i < 10 && !(SSL_is_init_finished(cl) && SSL_is_init_finished(sv)); i++) {
		SSL_do_handshake(cl);
		pump(cl, sv, t, UMPA_TCPS_CLIENT);
		SSL_do_handshake(sv);
		pump(sv, cl, t, UMPA_TCPS_SERVER);
	}
	assert_true(SSL_is_init_finished(cl) && SSL_is_init_finished(sv));
	assert_int_equal(SSL_write(cl, "GET / HTTP/1.1\r\nHost: server.umpa.test\r\n\r\n", 42), 42);
	pump(cl, sv, t, UMPA_TCPS_CLIENT);
	assert_int_equal(SSL_read(sv, rd, sizeof(rd)), 42);
	for (size_t i = 0; i < o->appdata && i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	if (o->appdata)
		assert_int_equal(SSL_write(sv, data, (int)o->appdata), (int)o->appdata);
	pump(sv, cl, t, UMPA_TCPS_SERVER);
	while (SSL_read(cl, rd, sizeof(rd)) > 0)
		;
	if (o->alert) {
		SSL_shutdown(cl);
		pump(cl, sv, t, UMPA_TCPS_CLIENT);
	}
	assert_int_equal(umpa_tcps_close(t, UMPA_TCPS_CLIENT, &e), 0);
	umpa_tcps_free(t);
	SSL_free(sv);
	SSL_free(cl);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	if (path)
		unit_write_pcap(path, UMPA_LINKTYPE_ETHERNET, c->pk, c->n);
}

/* ---- what umpa shows: (key, value) per frame, through an emitter that records ---- */

struct kv {
	char *key, *val;
	uint64_t frame;
};

struct rec {
	struct umpa_emit em; /* first: the callbacks get it back */
	struct kv *v;
	size_t n, cap;
	uint64_t frame;
};

static void rec_field(struct umpa_emit *em, const char *key, const char *val, int kind, const char *vname)
{
	struct rec *r = (struct rec *)em;

	(void)kind;
	(void)vname;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	r->v[r->n].key = strdup(key);
	r->v[r->n].val = strdup(val);
	r->v[r->n].frame = r->frame;
	r->n++;
}

static void rec_open(struct umpa_emit *em, const char *key, const char *label)
{
	(void)em;
	(void)key;
	(void)label;
}

static void rec_close(struct umpa_emit *em)
{
	(void)em;
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->em.open = rec_open;
	r->em.close = rec_close;
	r->em.field = rec_field;
}

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].val);
	}
	free(r->v);
	umpa_sbuf_free(&r->em.tmp);
	umpa_sbuf_free(&r->em.tmp2);
}

/* Record every field of the tls layers of @p p. */
static void rec_tls(struct rec *r, const struct umpa_pkt *p)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		if (l->proto != &umpa_proto_tls)
			continue;
		for (unsigned k = 0; k < l->proto->nfields; k++)
			umpa_emit_field(&r->em, p, i, &l->proto->fields[k]);
		l->proto->details(p, i, &r->em);
	}
}

/** Dissect every packet of @p c with reassembly and record the TLS fields shown; returns the count of
 * records (tls layers), counts flagged layers into *flagged and copies the reassembly counters to *st. */
static unsigned show_all(struct coll *c, struct rec *r, unsigned *flagged, struct umpa_reasm_stats *st)
{
	struct umpa_reasm *ra = umpa_reasm_open(NULL, NULL);
	unsigned nrec = 0;

	assert_non_null(ra);
	*flagged = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct umpa_pkt p;
		const struct umpa_pkt *rp;
		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c->pk[i].data, c->pk[i].len);
		rp = umpa_reasm_feed(ra, &p, i + 1);
		r->frame = i + 1;
		rec_tls(r, &p);
		if (rp)
			rec_tls(r, rp);
		for (unsigned k = 0; k < p.nlayers; k++) {
			nrec += p.l[k].proto == &umpa_proto_tls;
			*flagged += (p.l[k].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)) != 0;
		}
		for (unsigned k = 0; rp && k < rp->nlayers; k++) {
			nrec += rp->l[k].proto == &umpa_proto_tls;
			*flagged += (rp->l[k].flags & (UMPA_L_TRUNCATED | UMPA_L_INVALID)) != 0;
		}
		umpa_pkt_release(&p);
	}
	umpa_reasm_get_stats(ra, st);
	umpa_reasm_close(ra);
	return nrec;
}

/* ---- tshark's view ---- */

/* A value as text both sides agree on: numbers in decimal, bytes without separators. */
static void norm(const char *v, char *out, size_t n)
{
	char *end;
	unsigned long long x;
	size_t k = 0;

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X') && v[2]) {
		x = strtoull(v, &end, 16);
		if (!*end) {
			snprintf(out, n, "%llu", x);
			return;
		}
	}
	if (v[0] >= '0' && v[0] <= '9') {
		x = strtoull(v, &end, 10);
		if (!*end) {
			snprintf(out, n, "%llu", x);
			return;
		}
	}
	/* colon-separated hex bytes lose their colons */
	for (size_t i = 0; v[i] && k + 1 < n; i++)
		if (!(v[i] == ':' && i % 3 == 2))
			out[k++] = v[i];
	out[k] = 0;
	if (!strcmp(out, "True"))
		snprintf(out, n, "1");
	if (!strcmp(out, "False"))
		snprintf(out, n, "0");
}

/* Keys umpa emits that tshark shows under another form (checked elsewhere or by presence only). */
static int key_skipped(const char *k)
{
	return !strncmp(k, "x509af.", 7) || !strcmp(k, "tls.handshake") || !strcmp(k, "tls.alert_message") ||
	       !strcmp(k, "tls.change_cipher_spec") || !strcmp(k, "tls.ignored_unknown_record");
}

/**
 * Compare every field umpa recorded in @p r with tshark's values for the same frames of @p path: same
 * values in the same order, per frame and key.  Returns how many values were compared.
 */
static size_t compare_tshark(const char *path, struct rec *r)
{
	static char cmd[16384], line[1 << 20];
	static char a[1 << 15], b[1 << 15];
	char *keys[256];
	size_t nkeys = 0, cmp = 0, len, lo = 0, hi;
	FILE *f;

	for (size_t i = 0; i < r->n; i++) {
		size_t k;
		if (key_skipped(r->v[i].key))
			continue;
		for (k = 0; k < nkeys && strcmp(keys[k], r->v[i].key); k++)
			;
		if (k == nkeys) {
			assert_true(nkeys < 256);
			keys[nkeys++] = r->v[i].key;
		}
	}
	len = (size_t)snprintf(cmd, sizeof(cmd),
			       "tshark -r %s -o tcp.reassemble_out_of_order:TRUE -T fields -E occurrence=a "
			       "-E aggregator='|' -E separator='/t' -e frame.number",
			       path);
	for (size_t k = 0; k < nkeys; k++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " -e %s", keys[k]);
	assert_true(len < sizeof(cmd) - 16);
	snprintf(cmd + len, sizeof(cmd) - len, " 2>/dev/null");
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *cols[257], *save = NULL, *s = line;
		unsigned long frame;
		size_t nc = 0;
		line[strcspn(line, "\n")] = 0;
		/* split on tabs, keeping empty columns */
		cols[nc++] = s;
		for (char *q = s; *q; q++)
			if (*q == '\t') {
				*q = 0;
				assert_true(nc < 257);
				cols[nc++] = q + 1;
			}
		(void)save;
		assert_int_equal(nc, nkeys + 1);
		frame = strtoul(cols[0], NULL, 10);
		/* r->v is in frame order, and so are tshark's lines: [lo, hi) are this frame's values */
		while (lo < r->n && r->v[lo].frame < frame)
			lo++;
		for (hi = lo; hi < r->n && r->v[hi].frame == frame;)
			hi++;
		for (size_t k = 0; k < nkeys; k++) {
			/* umpa's values of this key in this frame, in order, against tshark's list */
			char *tv = cols[k + 1], *tsave = NULL, *tok;
			size_t ui = 0;
			tok = *tv ? strtok_r(tv, "|", &tsave) : NULL;
			for (size_t i = lo; i < hi; i++) {
				if (strcmp(r->v[i].key, keys[k]))
					continue;
				if (!tok)
					fail_msg("frame %lu: %s = %s in umpa, tshark has no more (%zu before)", frame,
						 keys[k], r->v[i].val, ui);
				norm(r->v[i].val, a, sizeof(a));
				norm(tok, b, sizeof(b));
				if (strcmp(a, b))
					fail_msg("frame %lu: %s[%zu]: umpa '%.200s', tshark '%.200s'", frame, keys[k],
						 ui, a, b);
				ui++;
				cmp++;
				tok = strtok_r(NULL, "|", &tsave);
			}
			if (tok)
				fail_msg("frame %lu: %s: tshark has more values than umpa (%zu, next '%s')", frame,
					 keys[k], ui, tok);
		}
	}
	assert_int_equal(pclose(f), 0);
	return cmp;
}

/* tshark's record sequence: per frame "ct:hstype,ct,..." as -T fields gives them, all frames joined. */
static void tshark_records(const char *path, char *out, size_t n)
{
	char cmd[512], line[8192];
	FILE *f;
	size_t k = 0;

	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -o tcp.reassemble_out_of_order:TRUE -T fields -E occurrence=a -E aggregator=, "
		 "-e tls.record.content_type -e tls.handshake.type 2>/dev/null",
		 path);
	f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '\t' && !line[1])
			continue;
		k += (size_t)snprintf(out + k, n - k, "%s;", line);
		assert_true(k < n);
	}
	assert_int_equal(pclose(f), 0);
}

/* umpa's record sequence in the same form, from what the recorder saw. */
static void umpa_records(const struct rec *r, char *out, size_t n)
{
	size_t k = 0;
	uint64_t frame = 0;
	int any = 0;
	char ct[2048], hs[2048];

	ct[0] = hs[0] = 0;
	out[0] = 0;
	for (size_t i = 0; i <= r->n; i++) {
		if (i == r->n || r->v[i].frame != frame) {
			if (any) {
				k += (size_t)snprintf(out + k, n - k, "%s\t%s;", ct, hs);
				assert_true(k < n);
			}
			if (i == r->n)
				break;
			frame = r->v[i].frame;
			ct[0] = hs[0] = 0;
			any = 0;
		}
		if (!strcmp(r->v[i].key, "tls.record.content_type")) {
			snprintf(ct + strlen(ct), sizeof(ct) - strlen(ct), "%s%s", ct[0] ? "," : "", r->v[i].val);
			any = 1;
		} else if (!strcmp(r->v[i].key, "tls.handshake.type")) {
			snprintf(hs + strlen(hs), sizeof(hs) - strlen(hs), "%s%s", hs[0] ? "," : "", r->v[i].val);
		}
	}
}

/* ---- tests ---- */

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/umpa-tls-XXXXXX", unit_tmpdir());
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	if (unit_keep()) { /* keep the captures to look at */
		fprintf(stderr, "captures kept in %s\n", tmpdir);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One capture holds four conversations (one tshark run per check, tshark starts slowly): TLS 1.3 with 3000
 * bytes back; TLS 1.2 (ECDHE-ECDSA, certificates in clear) with 20000 bytes back; TLS 1.2 cut byte by byte;
 * TLS 1.3 in 5-byte segments, 30% reordered and 30% duplicated. */
/* tshark starts slowly: ask once. */
static int have_tshark(void)
{
	static int have = -1;

	if (have < 0)
		have = unit_have_tshark();
	return have;
}

static struct coll all;
static struct rec all_rec;
static unsigned all_nrec, all_flagged;
static struct umpa_reasm_stats all_stats;
static char all_path[128];
static int all_built;

static void build_all(void)
{
	const struct conv_opts convs[] = {
	    {.version = TLS1_3_VERSION, .seed = 1, .appdata = 3000, .alert = 1},
	    {.version = TLS1_2_VERSION,
	     .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
	     .seed = 2,
	     .appdata = 20000,
	     .alert = 1},
	    {.version = TLS1_2_VERSION,
	     .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256",
	     .seg_max = 1,
	     .seed = 3,
	     .appdata = 100,
	     .alert = 1},
	    {.version = TLS1_3_VERSION,
	     .seg_max = 5,
	     .reorder = 0.3,
	     .dup = 0.3,
	     .seed = 4,
	     .appdata = 3000,
	     .alert = 1},
	};

	if (all_built)
		return;
	memset(&all, 0, sizeof(all));
	for (size_t i = 0; i < sizeof(convs) / sizeof(convs[0]); i++)
		conversation(&convs[i], &all, NULL);
	snprintf(all_path, sizeof(all_path), "%s/all.pcap", tmpdir);
	unit_write_pcap(all_path, UMPA_LINKTYPE_ETHERNET, all.pk, all.n);
	rec_init(&all_rec);
	all_nrec = show_all(&all, &all_rec, &all_flagged, &all_stats);
	all_built = 1;
}

/* Every field umpa shows for the conversations equals tshark's, frame by frame, reassembled records included;
 * the certificates' subjects and issuers are OpenSSL's. */
static void test_fields_vs_tshark(void **state)
{
	int subj = 0, iss = 0;
	size_t cmp;

	(void)state;
	if (!have_tshark())
		skip();
	build_all();
	assert_int_equal(all_flagged, 0);
	cmp = compare_tshark(all_path, &all_rec);
	print_message("%zu packets, %u records, %zu values equal to tshark's\n", all.n, all_nrec, cmp);
	assert_true(all_nrec > 50);
	assert_true(cmp > 500);
	for (size_t i = 0; i < all_rec.n; i++) {
		if (!strcmp(all_rec.v[i].key, "x509af.subject"))
			subj += strstr(all_rec.v[i].val, "CN=server.umpa.test") != NULL ||
				strstr(all_rec.v[i].val, "CN=umpa test CA") != NULL;
		if (!strcmp(all_rec.v[i].key, "x509af.issuer"))
			iss += strstr(all_rec.v[i].val, "CN=umpa test CA") != NULL;
	}
	/* two TLS 1.2 conversations, whose Certificate messages are in clear: leaf and CA each */
	assert_int_equal(subj, 4);
	assert_int_equal(iss, 4);
}

/* Records split across segments byte by byte, out of order, duplicated: umpa shows the same records in the
 * same frames as tshark (with its out-of-order reassembly on). */
static void test_records_vs_tshark(void **state)
{
	static char u[1 << 17], t[1 << 17];

	(void)state;
	if (!have_tshark())
		skip();
	build_all();
	umpa_records(&all_rec, u, sizeof(u));
	tshark_records(all_path, t, sizeof(t));
	if (strcmp(u, t))
		fail_msg("records per frame differ\numpa:   %s\ntshark: %s", u, t);
	print_message("reassembly: %llu flows, %llu records reassembled, %llu segments held, %llu duplicates\n",
		      (unsigned long long)all_stats.flows, (unsigned long long)all_stats.reassembled,
		      (unsigned long long)all_stats.held, (unsigned long long)all_stats.duplicates);
	assert_true(all_stats.reassembled >= 20);
	assert_true(all_stats.held > 0);
	assert_true(all_stats.duplicates > 0);
	assert_int_equal(all_stats.evicted, 0);
	assert_int_equal(all_stats.dropped, 0);
}

/* The TCP payload of the first packet of @p c whose payload starts with a handshake record holding message
 * @p hstype; *off receives its offset in the packet.  NULL if none. */
static const struct umpa_pkt *find_hs(const struct coll *c, uint8_t hstype, uint32_t *off)
{
	for (size_t i = 0; i < c->n; i++) {
		struct umpa_pkt p;
		int t;
		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c->pk[i].data, c->pk[i].len);
		t = umpa_pkt_find(&p, &umpa_proto_tls, 0);
		if (t >= 0 && p.l[t].len >= 6 && p.data[p.l[t].off] == 22 && p.data[p.l[t].off + 5] == hstype) {
			*off = p.l[t].off;
			umpa_pkt_release(&p);
			return &c->pk[i];
		}
		umpa_pkt_release(&p);
	}
	return NULL;
}

/* Cut every TLS-carrying packet of a conversation at every byte: no layer reaches past the bytes, a record
 * cut by the capture is truncated and never invalid, rendering reads nothing it should not (ASan). */
static void test_truncate_every_byte(void **state)
{
	struct conv_opts o = {.version = TLS1_2_VERSION,
			      .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256",
			      .seed = 5,
			      .appdata = 600,
			      .alert = 1};
	struct coll c;
	struct umpa_sbuf sb = {0};
	struct umpa_render_opts ro = {.number = 1};
	unsigned cuts = 0, truncated = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	conversation(&o, &c, NULL);
	for (size_t i = 0; i < c.n; i++) {
		struct umpa_pkt whole;
		int t;
		unit_dissect(&whole, UMPA_LINKTYPE_ETHERNET, c.pk[i].data, c.pk[i].len);
		t = umpa_pkt_find(&whole, &umpa_proto_tls, 0);
		umpa_pkt_release(&whole);
		if (t < 0)
			continue;
		for (uint32_t k = 0; k < c.pk[i].len; k++) {
			struct umpa_pkt p;
			umpa_pkt_init(&p);
			assert_int_equal(umpa_pkt_copy_from(&p, c.pk[i].data, k, NULL), 0);
			p.wirelen = c.pk[i].len;
			p.linktype = UMPA_LINKTYPE_ETHERNET;
			umpa_dissect(&p);
			for (unsigned li = 0; li < p.nlayers; li++) {
				const struct umpa_layer *l = &p.l[li];
				assert_true(l->off + l->len <= p.len);
				assert_true(l->hlen <= l->len);
				if (l->proto != &umpa_proto_tls)
					continue;
				if (l->flags & UMPA_L_INVALID)
					fail_msg("packet %zu cut at %u: tls layer %u invalid (%s)", i + 1, k, li,
						 l->why);
				if (li + 1 == p.nlayers && l->off + l->len == p.len && l->hlen == l->len &&
				    !(l->flags & UMPA_L_TRUNCATED)) {
					/* the last record: whole only if the cut falls after its end */
					uint16_t rl = (uint16_t)(p.data[l->off + 3] << 8 | p.data[l->off + 4]);
					if (l->len >= 5 && 5u + rl > l->len)
						fail_msg("packet %zu cut at %u: cut record not truncated", i + 1, k);
				}
				truncated += (l->flags & UMPA_L_TRUNCATED) != 0;
			}
			umpa_sbuf_reset(&sb);
			umpa_render_line(&p, &ro, &sb);
			umpa_render_tree(&p, &ro, &sb);
			umpa_render_json(&p, &ro, &sb);
			umpa_pkt_release(&p);
			cuts++;
		}
	}
	print_message("%u cuts, %u truncated tls layers\n", cuts, truncated);
	assert_true(cuts > 1000);
	assert_true(truncated > 500);
	umpa_sbuf_free(&sb);
	coll_free(&c);
}

/* Dissect @p n bytes as TLS records alone (no TCP below, as a reassembled PDU is). */
static void dissect_records(struct umpa_pkt *p, const uint8_t *b, size_t n)
{
	umpa_pkt_init(p);
	assert_int_equal(umpa_pkt_copy_from(p, b, (uint32_t)n, NULL), 0);
	p->linktype = -1;
	umpa_dissect_from(p, 0, &umpa_proto_tls, 0, (uint32_t)n);
}

/* Lengths that lie are flagged invalid, with the reason; the record is not read past its end. */
static void test_invalid_lengths(void **state)
{
	struct conv_opts o = {.version = TLS1_2_VERSION, .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256", .seed = 6};
	struct coll c;
	const struct umpa_pkt *ch;
	uint32_t off = 0, rlen;
	uint8_t b[2048];
	struct umpa_pkt p;
	size_t n, sid, cs;

	(void)state;
	memset(&c, 0, sizeof(c));
	conversation(&o, &c, NULL);
	ch = find_hs(&c, 1, &off);
	assert_non_null(ch);
	n = ch->len - off;
	assert_true(n < sizeof(b));
	memcpy(b, ch->data + off, n);
	rlen = (uint32_t)(b[3] << 8 | b[4]);
	assert_int_equal(rlen + 5, n);

	/* the record as it is: valid, one ClientHello */
	dissect_records(&p, b, n);
	assert_int_equal(p.nlayers, 1);
	assert_int_equal(p.l[0].flags & (UMPA_L_INVALID | UMPA_L_TRUNCATED), 0);
	unit_assert_line_has(&p, "Client Hello");
	umpa_pkt_release(&p);

	/* record length beyond the bytes, with nothing below that could carry the rest */
	b[3] = (uint8_t)((rlen + 1) >> 8);
	b[4] = (uint8_t)(rlen + 1);
	dissect_records(&p, b, n);
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[0].why, "tls record length beyond the data");
	assert_true(p.l[0].hlen <= p.l[0].len);
	umpa_pkt_release(&p);

	/* record length above 2^14 + 2048 */
	b[3] = 0x48;
	b[4] = 0x01;
	dissect_records(&p, b, n);
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	umpa_pkt_release(&p);
	b[3] = (uint8_t)(rlen >> 8);
	b[4] = (uint8_t)rlen;

	/* the cipher suites length overruns the message */
	sid = 5 + 4 + 2 + 32;
	cs = sid + 1 + b[sid];
	b[cs] = 0x7f;
	dissect_records(&p, b, n);
	assert_true(p.l[0].flags & UMPA_L_INVALID);
	assert_string_equal(p.l[0].why, "tls vector length overruns its container");
	unit_assert_line_has(&p, "[invalid tls: tls vector length overruns its container]");
	{
		char *js = unit_json(&p); /* rendering a lying record reads nothing past it (ASan) */
		free(js);
	}
	umpa_pkt_release(&p);
	coll_free(&c);
}

/* Feed every packet of @p c through a reassembler with limits @p o, rendering all three forms; returns its
 * counters.  Nothing may be marked invalid (what does not fit is dropped, not misread). */
static void feed_limited(struct coll *c, const struct umpa_reasm_opts *o, struct umpa_reasm_stats *st)
{
	struct umpa_reasm *ra = umpa_reasm_open(o, NULL);
	struct umpa_sbuf sb = {0};
	struct umpa_render_opts ro = {.number = 1};

	assert_non_null(ra);
	for (size_t i = 0; i < c->n; i++) {
		struct umpa_pkt p;
		unit_dissect(&p, UMPA_LINKTYPE_ETHERNET, c->pk[i].data, c->pk[i].len);
		umpa_sbuf_reset(&sb);
		umpa_reasm_show(ra, &p, i + 1, (enum umpa_reasm_fmt)(i % 3), &ro, &sb);
		assert_false(sb.oom);
		for (unsigned k = 0; k < p.nlayers; k++)
			assert_int_equal(p.l[k].flags & UMPA_L_INVALID, 0);
		umpa_pkt_release(&p);
	}
	umpa_reasm_get_stats(ra, st);
	assert_null(umpa_reasm_close(ra));
	umpa_sbuf_free(&sb);
}

/* The limits hold: one flow for two directions evicts, a tiny buffer drops records (counted, never
 * misread as invalid), one held segment suffices for swapped neighbours. */
static void test_reasm_limits(void **state)
{
	struct conv_opts o = {.version = TLS1_2_VERSION,
			      .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256",
			      .seg_max = 50,
			      .reorder = 0.3,
			      .seed = 7,
			      .appdata = 2000,
			      .alert = 1};
	struct umpa_reasm_opts one_flow = {.max_flows = 1}, small = {.max_flow_bytes = 64}, one_held = {.max_held = 1};
	struct umpa_reasm_stats st;
	struct coll c;

	(void)state;
	memset(&c, 0, sizeof(c));
	conversation(&o, &c, NULL);
	feed_limited(&c, &one_flow, &st);
	assert_true(st.evicted > 0);
	feed_limited(&c, &small, &st);
	assert_int_equal(st.evicted, 0);
	assert_true(st.dropped > 0);
	/* the stream reorders by swapping neighbours: one held segment at a time is enough */
	feed_limited(&c, &one_held, &st);
	assert_int_equal(st.dropped, 0);
	assert_true(st.held > 0);
	feed_limited(&c, NULL, &st);
	assert_int_equal(st.dropped, 0);
	assert_true(st.held > 0 && st.reassembled > 0);
	coll_free(&c);
}

/* Count the occurrences of @p needle in @p hay. */
static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *q = hay; (q = strstr(q, needle)) != NULL; q += strlen(needle))
		n++;
	return n;
}

/* 40 records completed by one segment (more than a packet's 32 layers): every form shows all of them. */
static void test_reasm_many_records(void **state)
{
	static const uint8_t rec[6] = {0x17, 0x03, 0x03, 0x00, 0x01, 0x00};
	uint8_t pay[3 + 39 * sizeof(rec)];
	struct umpa_pkt pk[3];
	const char *flags[3] = {"S", "PA", "PA"}, *seqs[3] = {"1000", "1001", "1004"};

	(void)state;
	memcpy(pay, rec + 3, 3);
	for (int i = 0; i < 39; i++)
		memcpy(pay + 3 + 6 * i, rec, sizeof(rec));
	for (int i = 0; i < 3; i++) {
		unit_build_ip(&pk[i], &umpa_proto_ip, "10.0.0.1", "10.0.0.2", &umpa_proto_tcp);
		unit_set(&pk[i], 1, "dport", "443");
		unit_set(&pk[i], 1, "sport", "40000");
		unit_set(&pk[i], 1, "flags", flags[i]);
		unit_set(&pk[i], 1, "seq", seqs[i]);
		if (i == 1)
			unit_push_payload(&pk[i], rec, 3);
		if (i == 2)
			unit_push_payload(&pk[i], pay, sizeof(pay));
		unit_finish(&pk[i]);
	}
	for (int fmt = 0; fmt < 3; fmt++) {
		struct umpa_reasm *ra = umpa_reasm_open(NULL, NULL);
		struct umpa_sbuf sb = {0};
		struct umpa_render_opts ro = {.number = 1};
		for (int i = 0; i < 3; i++) {
			struct umpa_pkt p;
			unit_dissect(&p, UMPA_LINKTYPE_RAW, pk[i].data, pk[i].len);
			umpa_reasm_show(ra, &p, (uint64_t)i + 1, (enum umpa_reasm_fmt)fmt, &ro, &sb);
			umpa_pkt_release(&p);
		}
		assert_non_null(sb.s);
		if (fmt == UMPA_REASM_LINE) {
			assert_int_equal(count_of(sb.s, "Application Data"), 40);
			unit_assert_contains(sb.s, "[reassembled from frames 2,3]");
		} else if (fmt == UMPA_REASM_TREE) {
			assert_int_equal(count_of(sb.s, "Transport Layer Security (tls)"), 40);
		} else {
			assert_int_equal(count_of(sb.s, "\"_layer\":\"tls\""), 40);
			unit_assert_contains(sb.s, "\"_reassembled_from\":[2,3]");
		}
		umpa_sbuf_free(&sb);
		umpa_reasm_close(ra);
	}
	for (int i = 0; i < 3; i++)
		umpa_pkt_release(&pk[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_vs_tshark),    cmocka_unit_test(test_records_vs_tshark),
	    cmocka_unit_test(test_truncate_every_byte), cmocka_unit_test(test_invalid_lengths),
	    cmocka_unit_test(test_reasm_limits),        cmocka_unit_test(test_reasm_many_records),
	};
	int rc;

	if (group_setup(NULL) < 0 || setup_dir(NULL) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	teardown_dir(NULL);
	group_teardown(NULL);
	if (all_built) {
		rec_free(&all_rec);
		coll_free(&all);
	}
	return rc;
}
