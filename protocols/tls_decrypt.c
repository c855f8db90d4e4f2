/* tls_decrypt.c - decrypting TLS records with a key log (RFC 5246 6.2.3 and 6.3, RFC 5288, RFC 7905,
 * RFC 7366; RFC 8446 5.2, 5.3, 7.1 to 7.3; the NSS key log format).
 *
 * A key log (SSLKEYLOGFILE text, from `--keylog FILE` or a pcapng Decryption
 * Secrets Block) maps a client random to secrets: the TLS 1.2 master secret
 * (CLIENT_RANDOM) or the TLS 1.3 traffic secrets.  The reassembler hands each
 * whole record of a TCP direction here in stream order; a direction learns the
 * client random from the ClientHello, the server random, cipher suite and
 * version (supported_versions) from the ServerHello, and then:
 *
 *   TLS 1.2: at ChangeCipherSpec the keys come from the master secret
 *   (key_block = PRF(master, "key expansion", server_random + client_random),
 *   the suite's PRF hash) and the sequence number starts at 0.  AES-GCM
 *   (explicit 8-byte nonce), ChaCha20-Poly1305 (nonce = IV xor sequence) and
 *   AES-CBC with HMAC-SHA1/256/384 (MAC-then-encrypt or, when negotiated,
 *   encrypt-then-MAC; the MAC is checked) are decrypted.
 *
 *   TLS 1.3: the first encrypted record of a direction uses its handshake
 *   traffic secret, the record after its Finished the application traffic
 *   secret; KeyUpdate moves to the next secret ("traffic upd").  Keys and
 *   IVs come from HKDF-Expand-Label; AES-128/256-GCM and ChaCha20-Poly1305.
 *   Handshake messages are followed across records (a Certificate over
 *   several records, several messages in one), so a key change happens where
 *   the message that makes it ends.  0-RTT: when the ClientHello offers
 *   early_data, the client's encrypted records up to its EndOfEarlyData use
 *   the client_early_traffic_secret.  Their suite is the resumed session's,
 *   which no packet before the ServerHello names (and early data comes before
 *   it): the ClientHello's TLS 1.3 suites whose hash fits the secret are
 *   tried on the first early record, and the AEAD tag says which one is
 *   right, as Wireshark does.  An early record that does not open with the
 *   early keys once the ServerHello is known is tried with the handshake keys
 *   (the server rejected early data and the client moved on).
 *
 * A record that does not authenticate (a wrong key, damaged bytes) is
 * reported as not decrypted, with the reason, and the sequence number still
 * advances, so one damaged record does not stop the ones after it.  Every
 * read of the record goes through the cursor; the one allocation is each
 * direction's cipher context, made at its first key and reused.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tls_decrypt_internal.h"

enum {
	HDR = 5,
	TAG = 16,
	MAX_SECRETS = 1 << 20,
	CT_CCS = 20,
	CT_ALERT = 21,
	CT_HS = 22,
	CT_APP = 23,
};

/* Key log labels. */
enum lbl { L_MASTER, L_CHTS, L_SHTS, L_CATS, L_SATS, L_CETS, L_COUNT };

static const char *const lbl_names[L_COUNT] = {
    [L_MASTER] = "CLIENT_RANDOM",
    [L_CHTS] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    [L_SHTS] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    [L_CATS] = "CLIENT_TRAFFIC_SECRET_0",
    [L_SATS] = "SERVER_TRAFFIC_SECRET_0",
    [L_CETS] = "CLIENT_EARLY_TRAFFIC_SECRET",
};

struct secret {
	uint8_t label;
	uint8_t len;
	uint8_t crandom[32];
	uint8_t s[48];
};

struct umpa_tls_keylog_ {
	struct secret *v;
	size_t n, cap;
};

struct umpa_tls_keylog_ *umpa_tls_keylog_new_(void)
{
	return calloc(1, sizeof(struct umpa_tls_keylog_));
}

struct umpa_tls_keylog_ *umpa_tls_keylog_free_(struct umpa_tls_keylog_ *k)
{
	if (k) {
		free(k->v);
		free(k);
	}
	return NULL;
}

size_t umpa_tls_keylog_count_(const struct umpa_tls_keylog_ *k)
{
	return k ? k->n : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2*n hex digits at s (length sl) into out.  Returns 0 or -1. */
static int unhex(const char *s, size_t sl, uint8_t *out, size_t n)
{
	if (sl != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
		if (a < 0 || b < 0)
			return -1;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

/* One line: LABEL SP CLIENT_RANDOM(64 hex) SP SECRET(hex).  Returns 1 added, 0 skipped, -1 bad, -2 oom. */
static int keylog_line(struct umpa_tls_keylog_ *k, const char *s, size_t n)
{
	const char *w[3];
	size_t wl[3], i = 0, nw = 0;
	struct secret e = {0};
	int lb = -1;

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	while (i < n && nw < 3) {
		size_t st = i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		w[nw] = s + st;
		wl[nw++] = i - st;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
	}
	if (nw < 3 || i != n)
		return -1;
	for (int j = 0; j < L_COUNT; j++)
		if (strlen(lbl_names[j]) == wl[0] && memcmp(lbl_names[j], w[0], wl[0]) == 0)
			lb = j;
	if (lb < 0)
		return 0; /* EXPORTER_SECRET, EARLY_EXPORTER_SECRET, ...: not used here */
	e.label = (uint8_t)lb;
	if (unhex(w[1], wl[1], e.crandom, 32) < 0)
		return -1;
	if (lb == L_MASTER) {
		if (unhex(w[2], wl[2], e.s, 48) < 0)
			return -1;
		e.len = 48;
	} else {
		if (wl[2] != 64 && wl[2] != 96)
			return -1;
		e.len = (uint8_t)(wl[2] / 2);
		if (unhex(w[2], wl[2], e.s, e.len) < 0)
			return -1;
	}
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 64;
		struct secret *nv;
		if (k->n >= MAX_SECRETS)
			return -1;
		nv = realloc(k->v, nc * sizeof(*nv));
		if (!nv)
			return -2;
		k->v = nv;
		k->cap = nc;
	}
	k->v[k->n++] = e;
	return 1;
}

long umpa_tls_keylog_add_(struct umpa_tls_keylog_ *k, const char *text, size_t n, unsigned long *bad)
{
	long added = 0;
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - text) : n;
		int r = keylog_line(k, text + i, e - i);
		if (r == -2)
			return -1;
		if (r == 1)
			added++;
		else if (r == -1 && bad)
			(*bad)++;
		i = e + 1;
	}
	return added;
}

/* The latest secret of @p label for @p crandom, or NULL. */
static const struct secret *keylog_find(const struct umpa_tls_keylog_ *k, int label, const uint8_t crandom[32])
{
	if (!k)
		return NULL;
	for (size_t i = k->n; i-- > 0;)
		if (k->v[i].label == label && memcmp(k->v[i].crandom, crandom, 32) == 0)
			return &k->v[i];
	return NULL;
}

int umpa_tls_keys_missing_(const struct umpa_tls_keylog_ *k, const struct umpa_tls_dir_ *a,
			   const struct umpa_tls_dir_ *b)
{
	const struct umpa_tls_dir_ *cr = a && a->have_cr ? a : b && b->have_cr ? b : NULL;
	const struct umpa_tls_dir_ *sh = a && a->have_sh ? a : b && b->have_sh ? b : NULL;
	int early = (a && a->early_offered) || (b && b->early_offered);
	int has13, has12;

	if (!cr)
		return -1;
	has13 = keylog_find(k, L_CHTS, cr->crandom) && keylog_find(k, L_SHTS, cr->crandom) &&
		keylog_find(k, L_CATS, cr->crandom) && keylog_find(k, L_SATS, cr->crandom) &&
		(!early || keylog_find(k, L_CETS, cr->crandom));
	has12 = keylog_find(k, L_MASTER, cr->crandom) != NULL;
	if (!sh)
		return !(has13 || has12);
	if (sh->tls13)
		return !has13;
	return sh->version == 0x0303 ? !has12 : 0;
}

/* ---- cipher suites ---- */

enum kind { K_NONE, K_GCM, K_CHACHA, K_CBC };

/** What decryption needs of a suite, read from its IANA name. */
struct suite_info {
	enum kind kind;
	unsigned keylen;     /* cipher key bytes */
	unsigned fixed_iv;   /* key block IV bytes (GCM 4, ChaCha 12, CBC 16) */
	unsigned maclen;     /* CBC: HMAC bytes */
	const EVP_MD *prf;   /* TLS 1.2 PRF / TLS 1.3 HKDF hash */
	const EVP_MD *mac;   /* CBC: HMAC hash */
	const EVP_CIPHER *c; /* the cipher */
};

static int suite_info(uint16_t suite, struct suite_info *si)
{
	const char *n = umpa_tls_suite_name_(suite);
	size_t nl;

	memset(si, 0, sizeof(*si));
	if (!n)
		return -1;
	nl = strlen(n);
	si->prf = nl >= 6 && strcmp(n + nl - 6, "SHA384") == 0 ? EVP_sha384() : EVP_sha256();
	if (strstr(n, "_AES_128_GCM_")) {
		si->kind = K_GCM, si->keylen = 16, si->c = EVP_aes_128_gcm();
	} else if (strstr(n, "_AES_256_GCM_")) {
		si->kind = K_GCM, si->keylen = 32, si->c = EVP_aes_256_gcm();
	} else if (strstr(n, "_CHACHA20_POLY1305_")) {
		si->kind = K_CHACHA, si->keylen = 32, si->c = EVP_chacha20_poly1305();
	} else if (strstr(n, "_AES_128_CBC_") || strstr(n, "_AES_256_CBC_")) {
		si->kind = K_CBC;
		si->keylen = strstr(n, "_AES_128_CBC_") ? 16 : 32;
		si->c = si->keylen == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
		if (nl >= 4 && strcmp(n + nl - 4, "_SHA") == 0)
			si->mac = EVP_sha1(), si->maclen = 20;
		else if (strcmp(n + nl - 6, "SHA256") == 0)
			si->mac = EVP_sha256(), si->maclen = 32;
		else
			si->mac = EVP_sha384(), si->maclen = 48;
	} else {
		return -1;
	}
	if (!si->c)
		return -1;
	si->fixed_iv = si->kind == K_GCM ? 4 : si->kind == K_CHACHA ? 12 : 16;
	return 0;
}

/* ---- key derivation ---- */

/* TLS 1.2 PRF (RFC 5246 5): P_hash(secret, label + seed), @p n bytes into @p out. */
static int prf12(const EVP_MD *md, const uint8_t *secret, size_t slen, const char *label, const uint8_t *seed,
		 size_t seedlen, uint8_t *out, size_t n)
{
	uint8_t a[EVP_MAX_MD_SIZE], buf[EVP_MAX_MD_SIZE + 128], o[EVP_MAX_MD_SIZE];
	unsigned alen = 0, olen = 0;
	size_t ll = strlen(label), ls = ll + seedlen;

	if (ls > 128)
		return -1;
	memcpy(buf, label, ll);
	memcpy(buf + ll, seed, seedlen);
	/* A(1) = HMAC(secret, label + seed) */
	if (!HMAC(md, secret, (int)slen, buf, ls, a, &alen))
		return -1;
	for (size_t done = 0; done < n;) {
		memcpy(buf, a, alen);
		memcpy(buf + alen, label, ll);
		memcpy(buf + alen + ll, seed, seedlen);
		if (!HMAC(md, secret, (int)slen, buf, alen + ls, o, &olen))
			return -1;
		memcpy(out + done, o, n - done < olen ? n - done : olen);
		done += olen;
		if (!HMAC(md, secret, (int)slen, a, alen, a, &alen))
			return -1;
	}
	return 0;
}

/* HKDF-Expand-Label(secret, label, "", n) for n at most the hash length (RFC 8446 7.1). */
static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t slen, const char *label, uint8_t *out, size_t n)
{
	uint8_t info[64], o[EVP_MAX_MD_SIZE];
	unsigned olen = 0;
	size_t ll = strlen(label), k = 0;

	if ((int)n > EVP_MD_get_size(md) || ll + 6 > 48)
		return -1;
	info[k++] = (uint8_t)(n >> 8);
	info[k++] = (uint8_t)n;
	info[k++] = (uint8_t)(6 + ll);
	memcpy(info + k, "tls13 ", 6);
	k += 6;
	memcpy(info + k, label, ll);
	k += ll;
	info[k++] = 0;    /* empty context */
	info[k++] = 0x01; /* T(1) = HMAC(PRK, info || 0x01) */
	if (!HMAC(md, secret, (int)slen, info, k, o, &olen))
		return -1;
	memcpy(out, o, n);
	return 0;
}

/* Set up the cipher context of @p d for the suite's cipher and d->key. */
static int ctx_key(struct umpa_tls_dir_ *d, const struct suite_info *si)
{
	if (!d->ctx) {
		d->ctx = EVP_CIPHER_CTX_new();
		if (!d->ctx)
			return -1;
	}
	if (si->kind == K_CBC) /* CBC takes its IV per record: keyed then */
		return 0;
	if (EVP_DecryptInit_ex(d->ctx, si->c, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(d->ctx, NULL, NULL, d->key, NULL) != 1)
		return -1;
	return 0;
}

/* TLS 1.3: keys of traffic secret d->secret (length of the suite's hash). */
static void keys13(struct umpa_tls_dir_ *d, const struct suite_info *si)
{
	size_t hl = (size_t)EVP_MD_get_size(si->prf);

	d->keyed = 0;
	if (expand_label(si->prf, d->secret, hl, "key", d->key, si->keylen) < 0 ||
	    expand_label(si->prf, d->secret, hl, "iv", d->iv, 12) < 0 || ctx_key(d, si) < 0) {
		d->nokey = "key derivation failed";
		return;
	}
	d->seq = 0;
	d->keyed = 1;
	d->hs_left = 0; /* a handshake message never spans a key change (RFC 8446 5.1) */
	d->hs_hdrn = 0;
}

/* TLS 1.3: load the secret @p label of this connection and its keys. */
static void load13(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d, int label)
{
	struct suite_info si;
	const struct secret *s;

	d->keyed = 0;
	if (suite_info(d->suite, &si) < 0 || si.kind == K_CBC) {
		d->nokey = "cipher suite not supported for decryption";
		return;
	}
	s = d->have_cr ? keylog_find(k, label, d->crandom) : NULL;
	if (!d->have_cr) {
		d->nokey = "the ClientHello was not seen";
		return;
	}
	if (!s) {
		d->nokey = "no key log entry for this connection's client random";
		return;
	}
	if (s->len != (size_t)EVP_MD_get_size(si.prf)) {
		d->nokey = "key log secret length does not match the cipher suite";
		return;
	}
	memcpy(d->secret, s->s, s->len);
	keys13(d, &si);
}

/* TLS 1.2: keys of this direction from the master secret (at its ChangeCipherSpec). */
static void load12(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d)
{
	struct suite_info si;
	const struct secret *s;
	uint8_t seed[64], kb[2 * 48 + 2 * 32 + 2 * 16];
	size_t need, at;
	int client = d->role == 1;

	d->keyed = 0;
	d->seq = 0;
	if (!d->have_cr || !d->have_sh) {
		d->nokey = "the hellos were not seen";
		return;
	}
	if (d->version != 0x0303) {
		d->nokey = "only TLS 1.2 and 1.3 are decrypted (this connection is older)";
		return;
	}
	if (suite_info(d->suite, &si) < 0) {
		d->nokey = "cipher suite not supported for decryption";
		return;
	}
	s = keylog_find(k, L_MASTER, d->crandom);
	if (!s) {
		d->nokey = "no key log entry for this connection's client random";
		return;
	}
	memcpy(seed, d->srandom, 32);
	memcpy(seed + 32, d->crandom, 32);
	need = 2 * si.maclen + 2 * si.keylen + 2 * si.fixed_iv;
	if (prf12(si.prf, s->s, 48, "key expansion", seed, 64, kb, need) < 0) {
		d->nokey = "key derivation failed";
		return;
	}
	at = client ? 0 : si.maclen;
	memcpy(d->mackey, kb + at, si.maclen);
	at = 2 * si.maclen + (client ? 0 : si.keylen);
	memcpy(d->key, kb + at, si.keylen);
	at = 2 * si.maclen + 2 * si.keylen + (client ? 0 : si.fixed_iv);
	memcpy(d->iv, kb + at, si.fixed_iv);
	if (ctx_key(d, &si) < 0) {
		d->nokey = "cipher set-up failed";
		return;
	}
	d->keyed = 1;
}

/* ---- the hellos ---- */

static const uint8_t hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
				       0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
				       0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* A ServerHello body: random, suite, supported_versions, encrypt_then_mac. */
static void server_hello(struct umpa_tls_dir_ *d, struct umpa_tls_dir_ *peer, struct umpa_cur *m)
{
	uint8_t sid;
	uint16_t suite, elen, type, len, v;
	size_t pos;

	if (umpa_cur_copy_at(m, 2, 32, d->srandom) < 0 || umpa_cur_u8_at(m, 34, &sid) < 0 ||
	    umpa_cur_be16_at(m, 35u + sid, &suite) < 0)
		return;
	if (memcmp(d->srandom, hrr_random, 32) == 0)
		return; /* HelloRetryRequest: the real ServerHello follows */
	d->role = 2;
	d->suite = suite;
	umpa_cur_be16_at(m, 0, &d->version);
	d->tls13 = 0;
	d->etm = 0;
	pos = 38u + sid;
	if (umpa_cur_be16_at(m, pos, &elen) == 0) {
		size_t end = pos + 2 + elen;
		pos += 2;
		while (pos + 4 <= end && umpa_cur_be16_at(m, pos, &type) == 0 &&
		       umpa_cur_be16_at(m, pos + 2, &len) == 0) {
			if (type == 43 && umpa_cur_be16_at(m, pos + 4, &v) == 0 && v == 0x0304)
				d->tls13 = 1;
			if (type == 22)
				d->etm = 1;
			pos += 4u + len;
		}
	}
	d->have_sh = 1;
	if (peer) {
		if (peer->have_cr && !d->have_cr) {
			memcpy(d->crandom, peer->crandom, 32);
			d->have_cr = 1;
		}
		if (peer->role == 0)
			peer->role = 1;
		memcpy(peer->srandom, d->srandom, 32);
		peer->suite = d->suite;
		peer->version = d->version;
		peer->tls13 = d->tls13;
		peer->etm = d->etm;
		peer->have_sh = 1;
	}
}

/* A ClientHello body: its TLS 1.3 cipher suites (candidates for early data) and whether it offers early_data. */
static void client_hello(struct umpa_tls_dir_ *d, struct umpa_cur *m)
{
	uint8_t sid, cl;
	uint16_t slen, v, elen, type, len;
	size_t pos;

	d->noffer = 0;
	d->early_offered = 0;
	if (umpa_cur_u8_at(m, 34, &sid) < 0 || umpa_cur_be16_at(m, 35u + sid, &slen) < 0)
		return;
	pos = 37u + sid;
	for (size_t i = 0; i + 2 <= slen && umpa_cur_be16_at(m, pos + i, &v) == 0; i += 2)
		if ((v >> 8) == 0x13 && d->noffer < sizeof(d->offer) / sizeof(d->offer[0]))
			d->offer[d->noffer++] = v;
	pos += slen;
	if (umpa_cur_u8_at(m, pos, &cl) < 0 || umpa_cur_be16_at(m, pos + 1u + cl, &elen) < 0)
		return;
	pos += 3u + cl;
	for (size_t end = pos + elen;
	     pos + 4 <= end && umpa_cur_be16_at(m, pos, &type) == 0 && umpa_cur_be16_at(m, pos + 2, &len) == 0;
	     pos += 4u + len)
		if (type == 42)
			d->early_offered = 1;
}

/* Plaintext handshake messages: learn from the hellos. */
static void plain_handshake(struct umpa_tls_dir_ *d, struct umpa_tls_dir_ *peer, struct umpa_cur *body)
{
	size_t pos = 0;
	uint8_t t;
	uint32_t len;
	struct umpa_cur m;

	while (umpa_cur_u8_at(body, pos, &t) == 0 && umpa_cur_be24_at(body, pos + 1, &len) == 0 &&
	       umpa_cur_sub(body, pos + 4, len, &m) == 0) {
		if (t == 1 && umpa_cur_copy_at(&m, 2, 32, d->crandom) == 0) {
			d->role = 1;
			d->have_cr = 1;
			client_hello(d, &m);
			if (peer) {
				memcpy(peer->crandom, d->crandom, 32);
				peer->have_cr = 1;
			}
		} else if (t == 2) {
			server_hello(d, peer, &m);
		}
		pos += 4 + len;
	}
}

/* ---- records ---- */

static void nonce_xor(const struct umpa_tls_dir_ *d, uint8_t nonce[12])
{
	memcpy(nonce, d->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

/* An AEAD open: nonce, aad, ciphertext [c, c+n) and tag into out.  Returns 0 or -1 (does not authenticate). */
static int aead_open(struct umpa_tls_dir_ *d, const uint8_t nonce[12], const uint8_t *aad, size_t aadlen,
		     const uint8_t *c, size_t n, const uint8_t *tag, uint8_t *out)
{
	int l = 0, l2 = 0;

	if (EVP_DecryptInit_ex(d->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(d->ctx, NULL, &l, aad, (int)aadlen) != 1 ||
	    (n && EVP_DecryptUpdate(d->ctx, out, &l, c, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, TAG, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(d->ctx, out + l, &l2) != 1)
		return -1;
	return 0;
}

static void aad12(uint8_t aad[13], uint64_t seq, uint8_t ct, uint16_t ver, size_t plen)
{
	for (int i = 0; i < 8; i++)
		aad[i] = (uint8_t)(seq >> (56 - 8 * i));
	aad[8] = ct;
	aad[9] = (uint8_t)(ver >> 8);
	aad[10] = (uint8_t)ver;
	aad[11] = (uint8_t)(plen >> 8);
	aad[12] = (uint8_t)plen;
}

/* TLS 1.2 CBC record (RFC 5246 6.2.3.2; RFC 7366 when d->etm).  Returns the plaintext length or -1. */
static long open_cbc(struct umpa_tls_dir_ *d, const struct suite_info *si, uint8_t ct, uint16_t ver, const uint8_t *b,
		     size_t n, uint8_t *out, const char **why)
{
	uint8_t aad[13], mac[EVP_MAX_MD_SIZE], *q;
	unsigned ml = 0;
	int l = 0, l2 = 0;
	size_t cl = n, pl;

	if (d->etm) {
		if (n < 16 + si->maclen + 16) {
			*why = "record too short for its cipher";
			return -1;
		}
		cl = n - si->maclen;
		aad12(aad, d->seq, ct, ver, cl);
		{
			uint8_t buf[13 + 16384 + 2048 + 256];
			if (cl > sizeof(buf) - 13) {
				*why = "record too long";
				return -1;
			}
			memcpy(buf, aad, 13);
			struct umpa_cur bc;
			umpa_cur_init(&bc, b, n);
			if (umpa_cur_copy_at(&bc, 0, cl, buf + 13) < 0)
				return -1;
			if (!HMAC(si->mac, d->mackey, (int)si->maclen, buf, 13 + cl, mac, &ml) ||
			    CRYPTO_memcmp(mac, b + cl, si->maclen) != 0) {
				*why = "bad record MAC (wrong key or damaged record)";
				return -1;
			}
		}
	}
	if (cl < 32 || cl % 16) {
		*why = "record length not a whole number of cipher blocks";
		return -1;
	}
	if (EVP_DecryptInit_ex(d->ctx, si->c, NULL, d->key, b) != 1 || EVP_CIPHER_CTX_set_padding(d->ctx, 0) != 1 ||
	    EVP_DecryptUpdate(d->ctx, out, &l, b + 16, (int)(cl - 16)) != 1 ||
	    EVP_DecryptFinal_ex(d->ctx, out + l, &l2) != 1) {
		*why = "cipher failed";
		return -1;
	}
	pl = (size_t)(l + l2);
	q = out;
	{
		uint8_t pad = q[pl - 1];
		if ((size_t)pad + 1 > pl) {
			*why = "bad padding (wrong key or damaged record)";
			return -1;
		}
		for (size_t i = pl - 1 - pad; i < pl; i++)
			if (q[i] != pad) {
				*why = "bad padding (wrong key or damaged record)";
				return -1;
			}
		pl -= (size_t)pad + 1;
	}
	if (!d->etm) {
		uint8_t buf[13 + 16384 + 2048 + 256];
		if (pl < si->maclen) {
			*why = "record too short for its MAC";
			return -1;
		}
		pl -= si->maclen;
		aad12(buf, d->seq, ct, ver, pl);
		memcpy(buf + 13, q, pl);
		if (!HMAC(si->mac, d->mackey, (int)si->maclen, buf, 13 + pl, mac, &ml) ||
		    CRYPTO_memcmp(mac, q + pl, si->maclen) != 0) {
			*why = "bad record MAC (wrong key or damaged record)";
			return -1;
		}
	}
	return (long)pl;
}

/* TLS 1.3: follow the messages of a decrypted handshake record (one may begin in an earlier record or end in a
 * later one).  Where the record ends at a message boundary, the end of Finished moves to the application keys,
 * of KeyUpdate to the next ones, of the client's EndOfEarlyData from the early keys to the handshake keys. */
static void after13(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d, const uint8_t *pt, size_t n)
{
	struct umpa_cur c;
	size_t pos = 0;
	int fin = 0, upd = 0, eoed = 0;

	umpa_cur_init(&c, pt, n);
	while (pos < n) {
		if (d->hs_left == 0) { /* a message header, perhaps begun in the record before */
			while (d->hs_hdrn < 4 && umpa_cur_u8_at(&c, pos, &d->hs_hdr[d->hs_hdrn]) == 0) {
				d->hs_hdrn++;
				pos++;
			}
			if (d->hs_hdrn < 4)
				break;
			d->hs_hdrn = 0;
			d->hs_left = (uint32_t)d->hs_hdr[1] << 16 | (uint32_t)d->hs_hdr[2] << 8 | d->hs_hdr[3];
		}
		if (d->hs_left > 0) {
			size_t take = n - pos < d->hs_left ? n - pos : d->hs_left;
			pos += take;
			d->hs_left -= (uint32_t)take;
		}
		if (d->hs_left == 0) { /* the message of hs_hdr ends here */
			fin |= d->hs_hdr[0] == 20;
			upd |= d->hs_hdr[0] == 24;
			eoed |= d->hs_hdr[0] == 5;
		}
	}
	if (d->hs_left || d->hs_hdrn)
		return; /* the record ends inside a message: keys do not change here */
	if (eoed && d->early) {
		d->early = 0;
		load13(k, d, L_CHTS);
	} else if (fin && d->epoch == 1 && !d->early) {
		d->epoch = 2;
		load13(k, d, d->role == 1 ? L_CATS : L_SATS);
	} else if (upd && d->epoch == 2 && d->keyed) {
		struct suite_info si;
		size_t hl;
		if (suite_info(d->suite, &si) == 0) {
			hl = (size_t)EVP_MD_get_size(si.prf);
			if (expand_label(si.prf, d->secret, hl, "traffic upd", d->secret, hl) == 0)
				keys13(d, &si);
		}
	}
}

/* TLS 1.3: open record @p rec (its content [@p b, @p b + @p len), at least a tag and a byte long) with d's keys
 * at d->seq into @p out (RFC 8446 5.2).  Returns the plaintext's length with its inner content type in *@p ct;
 * -1 when it does not authenticate, -2 when it holds no content type.  d->seq is left as it is. */
static long open13(struct umpa_tls_dir_ *d, struct umpa_cur *rec, const uint8_t *b, size_t len, uint8_t *out,
		   uint8_t *ct)
{
	uint8_t nonce[12], aad[HDR];
	size_t n = len - TAG;

	nonce_xor(d, nonce);
	if (umpa_cur_copy_at(rec, 0, HDR, aad) < 0 || aead_open(d, nonce, aad, HDR, b, n, b + n, out) < 0)
		return -1;
	while (n > 0 && out[n - 1] == 0) /* padding (RFC 8446 5.4) */
		n--;
	if (n == 0)
		return -2;
	*ct = out[n - 1];
	return (long)(n - 1);
}

/* TLS 1.3 0-RTT: the keys of this connection's client_early_traffic_secret under @p suite, at the current
 * sequence number.  Returns 0, or -1 (d->nokey says why when no secret is logged). */
static int keys_early(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d, uint16_t suite)
{
	const struct secret *s = d->have_cr ? keylog_find(k, L_CETS, d->crandom) : NULL;
	struct suite_info si;
	uint64_t seq = d->seq;

	if (!s) {
		d->keyed = 0;
		d->nokey = "no CLIENT_EARLY_TRAFFIC_SECRET in the key log for this connection's client random";
		return -1;
	}
	if (suite_info(suite, &si) < 0 || si.kind == K_CBC || s->len != (size_t)EVP_MD_get_size(si.prf))
		return -1;
	memcpy(d->secret, s->s, s->len);
	keys13(d, &si);
	d->seq = seq;
	return d->keyed ? 0 : -1;
}

/* A record of the client's early epoch: open it with the early keys (finding their suite on the first one), or,
 * once the ServerHello is known, with the handshake keys when the early ones do not fit (the server rejected
 * early data: the client's next records use its handshake keys).  Returns what open13 returns; the state moves
 * on only when the record opened, or by one early sequence number when it did not. */
static long early_record(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d, struct umpa_cur *rec,
			 const uint8_t *b, size_t len, uint8_t *out, uint8_t *ct)
{
	long n = -1;

	if (d->early_suite) {
		if (d->keyed)
			n = open13(d, rec, b, len, out, ct);
	} else {
		for (unsigned i = 0; i < d->noffer && n == -1; i++)
			if (keys_early(k, d, d->offer[i]) == 0 && (n = open13(d, rec, b, len, out, ct)) != -1)
				d->early_suite = d->offer[i];
		if (n == -1 && !d->nokey)
			d->nokey = "no TLS 1.3 cipher suite of the ClientHello opens the early data";
	}
	if (n != -1) {
		d->rec_early = 1;
		return n;
	}
	if (d->have_sh && d->tls13) {
		struct umpa_tls_dir_ save = *d;
		d->early = 0;
		load13(k, d, L_CHTS);
		if (d->keyed && (n = open13(d, rec, b, len, out, ct)) != -1)
			return n; /* the handshake epoch has begun */
		*d = save;
		if (d->keyed && d->early_suite) { /* the context holds the handshake key now: the early one back */
			struct suite_info si;
			if (suite_info(d->early_suite, &si) < 0 || ctx_key(d, &si) < 0)
				d->keyed = 0;
		}
	}
	d->seq++;
	return -1;
}

enum umpa_tls_rec_ umpa_tls_dir_record_(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d,
					struct umpa_tls_dir_ *peer, struct umpa_cur *rec, uint8_t *out, size_t *outlen,
					uint8_t *ct, const char **why)
{
	uint8_t rct, nonce[12], aad[13];
	uint16_t ver, len;
	const uint8_t *b;
	struct umpa_cur body;
	struct suite_info si;

	*outlen = 0;
	*why = NULL;
	d->rec_early = 0;
	if (umpa_cur_u8_at(rec, 0, &rct) < 0 || umpa_cur_be16_at(rec, 1, &ver) < 0 ||
	    umpa_cur_be16_at(rec, 3, &len) < 0 || umpa_cur_sub(rec, HDR, len, &body) < 0 ||
	    umpa_cur_ptr_at(&body, 0, len, &b) < 0)
		return UMPA_TLS_REC_PLAIN;
	*ct = rct;
	if (d->early && rct == CT_HS) { /* a second ClientHello (after a HelloRetryRequest): early data is over */
		d->early = 0;
		d->epoch = 0;
		d->keyed = 0;
	}
	if (d->epoch == 0) {
		if (rct == CT_HS)
			plain_handshake(d, peer, &body);
		if (rct == CT_APP && d->role == 1 && d->early_offered) {
			/* 0-RTT: what the client encrypts before its EndOfEarlyData (RFC 8446 2.3) */
			d->epoch = 1;
			d->early = 1;
			d->tls13 = 1;
			d->keyed = 0;
			d->nokey = NULL;
			d->seq = 0;
		} else {
			if (!d->have_sh)
				return UMPA_TLS_REC_PLAIN;
			if (!d->tls13) {
				if (rct == CT_CCS) { /* what follows in this direction is encrypted */
					d->epoch = 1;
					if (d->role == 0)
						d->role = peer && peer->role == 1 ? 2 : 1;
					load12(k, d);
				}
				return UMPA_TLS_REC_PLAIN;
			}
			if (rct != CT_APP)
				return UMPA_TLS_REC_PLAIN; /* the ServerHello, a compatibility ChangeCipherSpec */
			if (d->role == 0)
				d->role = peer && peer->role == 2 ? 1 : 2;
			d->epoch = 1;
			load13(k, d, d->role == 1 ? L_CHTS : L_SHTS);
		}
	}
	if (d->tls13 && rct == CT_CCS)
		return UMPA_TLS_REC_PLAIN; /* middlebox compatibility (RFC 8446 D.4) */
	if (d->tls13 && d->early) {
		long n;
		if (len < TAG + 1) {
			*why = "record shorter than its authentication tag";
			d->seq++;
			return UMPA_TLS_REC_FAILED;
		}
		n = early_record(k, d, rec, b, len, out, ct);
		if (n == -1) {
			*why = d->nokey && (!d->keyed || !d->early_suite)
				   ? d->nokey
				   : "authentication failed (wrong key or damaged record)";
			return UMPA_TLS_REC_FAILED;
		}
		d->seq++;
		if (n == -2) {
			*why = "no content type in the decrypted record";
			return UMPA_TLS_REC_FAILED;
		}
		*outlen = (size_t)n;
		if (*ct == CT_HS)
			after13(k, d, out, (size_t)n);
		return UMPA_TLS_REC_DECRYPTED;
	}
	if (!d->keyed) {
		*why = d->nokey ? d->nokey : "no keys";
		return UMPA_TLS_REC_FAILED;
	}
	if (suite_info(d->suite, &si) < 0) {
		*why = "cipher suite not supported for decryption";
		return UMPA_TLS_REC_FAILED;
	}
	if (d->tls13) {
		long n;
		if (len < TAG + 1) {
			*why = "record shorter than its authentication tag";
			d->seq++;
			return UMPA_TLS_REC_FAILED;
		}
		n = open13(d, rec, b, len, out, ct);
		d->seq++;
		if (n < 0) {
			*why = n == -1 ? "authentication failed (wrong key or damaged record)"
				       : "no content type in the decrypted record";
			return UMPA_TLS_REC_FAILED;
		}
		*outlen = (size_t)n;
		if (*ct == CT_HS)
			after13(k, d, out, (size_t)n);
		return UMPA_TLS_REC_DECRYPTED;
	}
	if (si.kind == K_GCM) {
		if (len < 8 + TAG) {
			*why = "record shorter than its nonce and tag";
			d->seq++;
			return UMPA_TLS_REC_FAILED;
		}
		memcpy(nonce, d->iv, 4);
		umpa_cur_copy_at(&body, 0, 8, nonce + 4); /* the explicit nonce */
		aad12(aad, d->seq, rct, ver, len - 8u - TAG);
		d->seq++;
		if (aead_open(d, nonce, aad, 13, b + 8, len - 8u - TAG, b + len - TAG, out) < 0) {
			*why = "authentication failed (wrong key or damaged record)";
			return UMPA_TLS_REC_FAILED;
		}
		*outlen = len - 8u - TAG;
		return UMPA_TLS_REC_DECRYPTED;
	}
	if (si.kind == K_CHACHA) {
		if (len < TAG) {
			*why = "record shorter than its tag";
			d->seq++;
			return UMPA_TLS_REC_FAILED;
		}
		nonce_xor(d, nonce);
		aad12(aad, d->seq, rct, ver, len - TAG);
		d->seq++;
		if (aead_open(d, nonce, aad, 13, b, len - TAG, b + len - TAG, out) < 0) {
			*why = "authentication failed (wrong key or damaged record)";
			return UMPA_TLS_REC_FAILED;
		}
		*outlen = len - TAG;
		return UMPA_TLS_REC_DECRYPTED;
	}
	{
		long pl = open_cbc(d, &si, rct, ver, b, len, out, why);
		d->seq++;
		if (pl < 0)
			return UMPA_TLS_REC_FAILED;
		*outlen = (size_t)pl;
		return UMPA_TLS_REC_DECRYPTED;
	}
}

void umpa_tls_dir_reset_(struct umpa_tls_dir_ *d)
{
	void *ctx = d->ctx;

	memset(d, 0, sizeof(*d));
	d->ctx = ctx;
	d->ctx_suite = -1;
}

void umpa_tls_dir_free_(struct umpa_tls_dir_ *d)
{
	EVP_CIPHER_CTX_free(d->ctx);
	d->ctx = NULL;
	umpa_tls_dir_reset_(d);
}
