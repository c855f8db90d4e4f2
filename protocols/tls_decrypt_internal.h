/* tls_decrypt_internal.h - internal: TLS record decryption from a key log (protocols/tls_decrypt.c), for the
 * reassembler (protocols/tcp_reasm.c), which keeps one umpa_tls_dir_ per TCP flow direction.
 *
 * Not installed, not exported (names end with an underscore).
 */
#ifndef UMPA_TLS_DECRYPT_INTERNAL_H
#define UMPA_TLS_DECRYPT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_cursor.h"

/** A table of TLS secrets from SSLKEYLOGFILE text (NSS key log format), keyed by client random. */
struct umpa_tls_keylog_;

/** A new, empty table; NULL on out of memory. */
struct umpa_tls_keylog_ *umpa_tls_keylog_new_(void);

/** Free @p k (NULL is fine).  Returns NULL. */
struct umpa_tls_keylog_ *umpa_tls_keylog_free_(struct umpa_tls_keylog_ *k);

/**
 * Add the lines of key log text [@p text, @p text + @p n): CLIENT_RANDOM (TLS 1.2 master secrets) and the
 * TLS 1.3 CLIENT_EARLY_TRAFFIC_SECRET, CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET and
 * CLIENT_/SERVER_TRAFFIC_SECRET_0 lines; comments,
 * other labels and malformed lines are skipped (counted in *@p bad when not NULL).  Returns the number of
 * secrets added, or -1 on out of memory.
 */
long umpa_tls_keylog_add_(struct umpa_tls_keylog_ *k, const char *text, size_t n, unsigned long *bad);

/** Number of secrets in @p k. */
size_t umpa_tls_keylog_count_(const struct umpa_tls_keylog_ *k);

/** One direction of one TLS connection: what the handshake said and the keys of the current epoch. */
struct umpa_tls_dir_ {
	uint8_t role;    /* 0 unknown, 1 client, 2 server */
	uint8_t have_cr; /* crandom known (from the ClientHello) */
	uint8_t have_sh; /* the ServerHello was seen: srandom, suite, tls13, etm */
	uint8_t tls13;
	uint8_t etm;   /* encrypt_then_mac negotiated (CBC suites, RFC 7366) */
	uint8_t epoch; /* 0 plaintext; 1 TLS 1.2 encrypted / TLS 1.3 handshake keys; 2 TLS 1.3 application keys */
	uint8_t keyed; /* keys of the epoch are loaded; 0 with a reason in nokey */
	uint16_t suite;
	uint16_t version; /* the ServerHello's legacy version (0x0303 for TLS 1.2 and 1.3) */
	uint8_t crandom[32], srandom[32];
	uint64_t seq;
	uint8_t key[32], iv[16], mackey[48];
	uint8_t secret[48]; /* TLS 1.3: the current traffic secret (KeyUpdate) */
	const char *nokey;  /* why the epoch has no keys */
	void *ctx;          /* EVP_CIPHER_CTX, made once per direction and reused */
	int ctx_suite;      /* the suite ctx was set up for (-1: none) */
	/* TLS 1.3 0-RTT (RFC 8446 2.3, 4.2.10): the client's records between its ClientHello and its
	 * EndOfEarlyData use the client_early_traffic_secret, under the suite of the resumed session, which
	 * the capture does not say before the ServerHello: the ClientHello's TLS 1.3 suites are tried */
	uint8_t early_offered; /* the ClientHello carries the early_data extension */
	uint8_t early;         /* this (client) direction is in its early data epoch */
	uint8_t rec_early;     /* the last record decrypted was early data */
	uint8_t noffer;
	uint16_t offer[8];    /* the ClientHello's TLS 1.3 cipher suites, in its order */
	uint16_t early_suite; /* the suite early data decrypted with (0: not found yet) */
	/* decrypted TLS 1.3 handshake messages that span records (RFC 8446 5.1): where the next one starts */
	uint32_t hs_left;  /* bytes of the current message still to come in later records */
	uint8_t hs_hdr[4]; /* a message header cut by a record's end, so far */
	uint8_t hs_hdrn;
};

/** Forget what @p d knew but keep its cipher context for reuse. */
void umpa_tls_dir_reset_(struct umpa_tls_dir_ *d);

/** Free @p d's cipher context (and reset it). */
void umpa_tls_dir_free_(struct umpa_tls_dir_ *d);

/** What umpa_tls_dir_record_ made of one record. */
enum umpa_tls_rec_ {
	UMPA_TLS_REC_PLAIN = 0, /**< nothing to decrypt (plaintext, or before keys apply) */
	UMPA_TLS_REC_DECRYPTED, /**< decrypted: the plaintext and its content type are in the outputs (d->rec_early
				   says whether it was 0-RTT early data) */
	UMPA_TLS_REC_FAILED,    /**< encrypted and not decrypted: *why says why */
};

/**
 * Take one whole record (@p rec: the 5-byte header and its content) of direction @p d of a connection
 * (@p peer: the other direction, or NULL when not seen yet), in stream order: learn from the plaintext
 * handshake (randoms, cipher suite, version, TLS 1.3 suites and early_data offered), change keys where the
 * protocol does (ChangeCipherSpec; TLS 1.3 early data, EndOfEarlyData, Finished and KeyUpdate, tracked
 * across handshake messages that span records), and decrypt what is encrypted with the secrets of @p k.  The plaintext
 * goes to @p out (at least the record's length of room), its length to *@p outlen and its content type
 * (TLS 1.3: the inner one) to *@p ct.  Never reads past @p rec's window; allocates only the direction's
 * cipher context, once.
 */
enum umpa_tls_rec_ umpa_tls_dir_record_(const struct umpa_tls_keylog_ *k, struct umpa_tls_dir_ *d,
					struct umpa_tls_dir_ *peer, struct umpa_cur *rec, uint8_t *out, size_t *outlen,
					uint8_t *ct, const char **why);

/**
 * Whether the key log @p k (NULL: none yet) still lacks secrets that a connection needs, from what its two
 * directions @p a and @p b (either may be NULL) saw: TLS 1.3 the client and server handshake and traffic
 * secrets (and the early traffic secret when 0-RTT was offered), TLS 1.2 the master secret (CLIENT_RANDOM),
 * either set while the ServerHello is not known.  Returns 1 (missing), 0 (all there, or a connection that
 * cannot be decrypted anyway: older than TLS 1.2), or -1 when no ClientHello was seen (no client random).
 */
int umpa_tls_keys_missing_(const struct umpa_tls_keylog_ *k, const struct umpa_tls_dir_ *a,
			   const struct umpa_tls_dir_ *b);

/** The IANA name of cipher suite @p v ("TLS_AES_128_GCM_SHA256"), or NULL (protocols/tls.c). */
const char *umpa_tls_suite_name_(uint16_t v);

#endif
