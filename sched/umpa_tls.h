/* umpa_tls.h - the TLS pump: whole TLS conversations as packets, with no socket.
 *
 * An OpenSSL 3 client and server live in one process, joined by memory BIOs.
 * The pump runs both state machines; whenever one side has output pending
 * (one flight: every record it wrote before it wanted to read), the bytes go
 * to a TCP stream (umpa_tcpstream.h) as ONE labelled send from that side,
 * so segmentation, ACKs and timing are those of a real stack, and then into
 * the peer's read BIO.  Handshake, application data both ways, KeyUpdate,
 * renegotiation, alerts and close_notify become packets, followed by a TCP
 * FIN exchange (or a RST when asked).  A failed handshake ends with the
 * failing side's alert and a FIN exchange it starts.
 *
 * Objects:
 * - struct umpa_tls (a "pump"): the two SSL_CTXs, the certificates (from PEM
 *   files or generated: a self-signed CA and a leaf signed by it, SAN = SNI),
 *   the session kept for resumption and the collected key log.  Building it
 *   costs the key generation; reuse it for many conversations.
 * - struct umpa_tls_conv: one conversation (one TCP stream, two SSL objects),
 *   advanced one flight at a time by umpa_tls_conv_step(), so a caller can
 *   interleave several.  umpa_tls_run() is the one-call form.
 *
 * Resumption: the first conversation of a pump stores the client's session
 * (the last one OpenSSL handed out: for TLS 1.3 the last NewSessionTicket);
 * a conversation created with `resume` set offers it.  The modes:
 * - UMPA_TLS_RESUME_ID: session-id resumption (TLS <= 1.2; tickets are
 *   turned off with SSL_OP_NO_TICKET, the server's session cache resumes);
 * - UMPA_TLS_RESUME_TICKET: RFC 5077 session tickets (TLS <= 1.2), or the
 *   NewSessionTicket PSK for TLS 1.3;
 * - UMPA_TLS_RESUME_PSK: TLS 1.3 resumption PSK from the previous session
 *   (SSL_SESSION reuse, stateful: the server keeps the session, tickets are
 *   ids - SSL_OP_NO_TICKET on a TLS 1.3 server).
 * The pump always sets the server's DH parameters automatically
 * (SSL_CTX_set_dh_auto), so DHE suites negotiate.
 * Early data (0-RTT, ticket or psk) is sent by the client on the resumed
 * conversation with SSL_write_early_data; the server's max_early_data is set
 * to allow it.  OpenSSL's anti-replay makes such a ticket single-use: a
 * second conversation offering the same one gets a full handshake.
 *
 * External PSK (opts.psk): the client's and the server's PSK callbacks hand
 * out the key (SSL_CTX_set_psk_client_callback / set_psk_server_callback
 * for TLS <= 1.2, set_psk_use_session_callback / set_psk_find_session_callback
 * for TLS 1.3: an SSL_SESSION with the key, the suite and TLS 1.3, used in
 * psk_dhe_ke mode).  TLS 1.2 PSK conversations log CLIENT_RANDOM lines, TLS
 * 1.3 ones the traffic secrets, as any other.  The report's psk says whether
 * the handshake used it.
 *
 * Randomness: the TCP side (ISNs, ports, IP ids, timestamps) is seeded by
 * tcp.seed and reproducible; the TLS bytes (randoms, keys, signatures) come
 * from OpenSSL's own DRBG and differ on every run.
 *
 * Comments: every packet in which a TLS record starts carries a comment
 * naming the message(s) of the records starting in it, joined by "; ", as
 * the pump saw OpenSSL write them (SSL_set_msg_callback; offsets counted
 * from the record headers, so they are exact whatever the segmentation):
 * "ClientHello", "ServerHello; ChangeCipherSpec; EncryptedExtensions;
 * Certificate; CertificateVerify; Finished", "Application Data" (one label
 * per record), "Alert close_notify".  Segments that only continue a record
 * carry none; TLS 1.3 handshake messages are encrypted on the wire, the
 * comment still names them.  With a label, each name is "[label] NAME".
 *
 * Errors: options that cannot work (an unknown version name, a cipher list
 * matching nothing, an unreadable PEM file, min above max) fail in
 * umpa_tls_new() with UMPA_EINVAL and a message that starts with the option's
 * key in the option table (umpa_tls_opts.h): "ciphers: no cipher matches
 * 'FOO'" ("server_ciphers: ..." when the sides were given different lists);
 * umpa_tls_opt_from_msg() finds the entry, and each front end spells it.  A handshake
 * that fails is NOT an error of the API: its packets (the alert, then the
 * TCP teardown) are emitted and the report says why (handshake_ok = 0).
 */
#ifndef UMPA_TLS_H
#define UMPA_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_tcpstream.h"

/** Resumption modes (see the file comment). */
enum umpa_tls_resume {
	UMPA_TLS_RESUME_NONE = 0,
	UMPA_TLS_RESUME_ID = 1,
	UMPA_TLS_RESUME_TICKET = 2,
	UMPA_TLS_RESUME_PSK = 3,
};

/** How a conversation ends after its application data. */
enum umpa_tls_close {
	UMPA_TLS_CLOSE_NOTIFY = 0, /**< close_notify both ways (client first), then TCP FIN from the client */
	UMPA_TLS_CLOSE_FIN = 1,    /**< no close_notify: TCP FIN from the client */
	UMPA_TLS_CLOSE_ABORT = 2,  /**< no close_notify: TCP RST from the client */
};

/**
 * Settings of one side.  umpa_tls_new() copies what it keeps (strings and
 * data buffers): the caller's memory is free again when it returns.
 * NULL / 0 means "OpenSSL's default" unless said otherwise.
 */
struct umpa_tls_side {
	const char *min_version;  /**< "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" (also "1.0".."1.3") */
	const char *max_version;  /**< same names */
	const char *ciphers;      /**< TLS <= 1.2 cipher list (SSL_CTX_set_cipher_list syntax) */
	const char *ciphersuites; /**< TLS 1.3 suites ("TLS_AES_128_GCM_SHA256:...") */
	const char *groups;       /**< groups / curves list ("X25519:P-256") */
	const char *sigalgs;      /**< signature algorithms list ("ECDSA+SHA256:rsa_pss_rsae_sha256") */
	const char *cert_file;    /**< PEM certificate (chain: leaf first); NULL: generated */
	const char *key_file;     /**< PEM private key; NULL: the cert_file holds it too */
	const char *ca_file;      /**< PEM CA(s) this side trusts to verify the peer; NULL: the generated CA,
				   or when the peer's certificate is a PEM file, the last certificate
				   of that file (trusted as a partial chain) */
	const char *key_type;     /**< generated key (umpa_tls_keytype_parse): "rsa" (2048), "rsa:N" (512..8192),
				     "ec:P-256" (or p256, secp256r1, prime256v1 ...), "ec:P-384", "ec:P-521",
				     "ed25519", "ed448"; NULL: "rsa" */
	int security_level;       /**< SSL_CTX_set_security_level; -1: OpenSSL's default (umpa_tls_opts_init sets -1) */
	const char *alpn;         /**< comma-separated ALPN list: the client offers it, the server picks its first
				     entry the client offered (no overlap: no ALPN, the handshake continues) */
	const void *data;         /**< application data this side sends after the handshake */
	size_t data_len;          /**< its length */
	size_t max_record;        /**< largest plaintext per record this side sends (512..16384; 0: 16384) */
	int key_updates;          /**< TLS 1.3: KeyUpdate messages this side sends (each after a share of its data) */
	int renegotiations;       /**< TLS <= 1.2: renegotiations this side starts (the server sends HelloRequest) */
};

/** What to run.  Fill with umpa_tls_opts_init(), then change what you need. */
struct umpa_tls_opts {
	struct umpa_tls_side side[2]; /**< [UMPA_TCPS_CLIENT], [UMPA_TCPS_SERVER] */
	const char *sni;              /**< server name the client sends; also the generated leaf's CN and SAN.
					 NULL: no SNI sent, the generated leaf is "umpa.test" */
	int client_cert;              /**< 1: the server requests a certificate and verifies it; the client sends
					 side[CLIENT]'s (PEM or generated) */
	int verify; /**< the client always verifies the server chain (and the name, when sni is set) and
		       reports the result; 0 (default, as openssl s_client): a failure is not fatal;
		       1: a failure aborts the handshake with an alert */
	enum umpa_tls_resume resume; /**< umpa_tls_run: a second conversation resuming the first */
	const void *early_data;      /**< 0-RTT bytes the client sends on a resumed TLS 1.3 conversation */
	size_t early_len;            /**< their length (0: no early data) */
	enum umpa_tls_close close;   /**< the ending */
	struct umpa_tcps_opts tcp;   /**< the TCP stream (addresses, ports, MSS, segmentation, seed, ...) */
	const char *label;           /**< prefixed to every comment as "[label] " (NULL: none) */
	const void *psk;             /**< external pre-shared key both sides know (1..64 bytes); NULL: none.
					TLS <= 1.2: the PSK suites of the cipher lists (PSK, DHE-PSK, ECDHE-PSK,
					RSA-PSK) can negotiate; TLS 1.3: the client offers it (psk_dhe_ke) with the
					first TLS 1.3 suite of its list; cannot be combined with resume */
	size_t psk_len;              /**< its length */
	const char *psk_identity;    /**< the PSK's identity (NULL: "umpa") */
	int self_signed;             /**< a generated server certificate signs itself (no CA; the client trusts
					the leaf); otherwise it is signed by a generated CA */
};

/** One certificate of a chain, as the report shows it. */
struct umpa_tls_cert {
	char subject[256];   /**< one-line RFC 2253 form */
	char issuer[256];    /**< same */
	char not_before[32]; /**< "YYYY-MM-DD HH:MM:SS UTC" */
	char not_after[32];  /**< same */
	char key_type[32];   /**< "RSA", "EC P-256", "ED25519", ... */
	int key_bits;        /**< EVP_PKEY_get_bits */
	char san[256];       /**< subjectAltName entries, "DNS:a.test, IP:127.0.0.1" ("" none; cut at 255) */
};

/** Largest chain the report keeps per peer. */
#define UMPA_TLS_MAX_CHAIN 4

/** The outcome of one conversation.  Strings are "" when not applicable. */
struct umpa_tls_report {
	int handshake_ok;     /**< 1: both sides completed the (first) handshake */
	char error[512];      /**< why it failed: "client: " or "server: " and OpenSSL's error queue */
	char alert[64];       /**< fatal alert sent, "sent by server: handshake_failure"; "" none */
	char version[16];     /**< "TLSv1.3" */
	char cipher[64];      /**< OpenSSL's name, "TLS_AES_256_GCM_SHA384" / "ECDHE-RSA-AES128-GCM-SHA256" */
	char cipher_iana[80]; /**< RFC name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
	char group[32];    /**< key exchange group: "x25519", "secp256r1", "ffdhe2048"; DHE in TLS 1.2: "modp_2048" */
	char sigalg[32];   /**< server's signature algorithm as the client saw it ("rsa_pss_rsae_sha256") */
	char alpn[64];     /**< selected protocol */
	char sni[256];     /**< server name the server received */
	int resumed;       /**< 1: the session was resumed (SSL_session_reused on the client); 0 when the
			      handshake used the external PSK (OpenSSL counts a TLS 1.3 one as reused) */
	char psk[16];      /**< "external": the handshake used the external PSK (opts.psk); "" otherwise */
	int early_data;    /**< -1: none offered, 0: rejected, 1: accepted */
	int verify_result; /**< X509_V_OK (0) or the X509_V_ERR_ of the client's verification */
	char verify_reason[128];  /**< X509_verify_cert_error_string */
	int client_verify_result; /**< same for the server verifying the client (client_cert), else 0 */
	struct umpa_tls_cert server_chain[UMPA_TLS_MAX_CHAIN]; /**< as the client received it, leaf first */
	size_t n_server_chain;
	struct umpa_tls_cert client_chain[UMPA_TLS_MAX_CHAIN]; /**< as the server received it */
	size_t n_client_chain;
	uint64_t app_bytes[2]; /**< application bytes [side] sent that the peer read (early data included) */
	uint64_t tls_bytes[2]; /**< TLS bytes [side] put on the wire */
	uint64_t packets;      /**< packets emitted (TCP included) */
	int key_updates;       /**< KeyUpdate messages sent, both sides */
	int renegotiations;    /**< renegotiations completed */
	uint16_t port[2];      /**< TCP ports [side] */
};

/** A pump: contexts, certificates, saved session, key log (opaque). */
struct umpa_tls;

/** A conversation in progress (opaque). */
struct umpa_tls_conv;

/** Fill @p o with defaults: OpenSSL defaults per side, security_level -1, verify 0, TCP defaults. */
void umpa_tls_opts_init(struct umpa_tls_opts *o);

/**
 * Build a pump from @p o: check the options, generate keys and certificates
 * or load the PEM files, configure both SSL_CTXs.  @p o is copied (strings
 * and data buffers included): it may be freed afterwards.  Returns NULL with @p e
 * set (UMPA_EINVAL, message starting with the option's key, "ciphers: ...") on bad options,
 * UMPA_EIO on unreadable files, UMPA_ENOMEM.
 */
struct umpa_tls *umpa_tls_new(const struct umpa_tls_opts *o, struct umpa_err *e);

/** Free @p t and everything it owns.  NULL allowed.  Returns NULL. */
struct umpa_tls *umpa_tls_free(struct umpa_tls *t);

/**
 * Start a conversation on pump @p t.  @p tcp (NULL: the pump's o->tcp) sets
 * up its TCP stream: give each conversation its own seed or client port.
 * With @p resume set, the client offers the session saved by an earlier
 * conversation of this pump (UMPA_EINVAL if there is none) and, if the pump
 * has early data, sends it as 0-RTT.  Packets go to @p emit with @p arg.
 * Nothing is emitted before the first step.  Returns NULL with @p e set.
 * The conversation must be freed before the pump.
 */
struct umpa_tls_conv *umpa_tls_conv_new(struct umpa_tls *t, const struct umpa_tcps_opts *tcp, int resume,
					umpa_tcps_emit_cb emit, void *arg, struct umpa_err *e);

struct umpa_loop;

/**
 * Like umpa_tls_conv_new(), with the TCP stream on @p loop (not owned; NULL:
 * a private virtual loop starting at tcp->start_sec, as umpa_tls_conv_new).
 * On a caller's loop the TCP side is asynchronous (umpa_tcps_new_on): run
 * the conversation with umpa_tls_conv_start() and the loop, so several
 * conversations and other timers share one clock.  Packets are stamped with
 * the loop's wall time.
 */
struct umpa_tls_conv *umpa_tls_conv_new_on(struct umpa_tls *t, struct umpa_loop *loop, const struct umpa_tcps_opts *tcp,
					   int resume, umpa_tcps_emit_cb emit, void *arg, struct umpa_err *e);

/**
 * Told when a started conversation is over: @p rc 0 (the report is final,
 * every packet emitted) or a negative error (@p e says why; the emit
 * callback's error, no memory).  The conversation may be freed from here.
 */
typedef void (*umpa_tls_conv_done_cb)(void *arg, struct umpa_tls_conv *c, int rc, const struct umpa_err *e);

/**
 * Run @p c from its loop: each step (one flight) runs once the TCP side has
 * emitted the previous one, so the flights of several conversations and the
 * loop's other timers interleave in time order; @p done is called at the
 * end.  Do not call umpa_tls_conv_step() on a started conversation.  Returns
 * 0, or a negative error (already started or stepped, no memory).  Nothing
 * happens until the loop runs.
 */
int umpa_tls_conv_start(struct umpa_tls_conv *c, umpa_tls_conv_done_cb done, void *arg, struct umpa_err *e);

/** The loop @p c's TCP stream runs on. */
struct umpa_loop *umpa_tls_conv_loop(const struct umpa_tls_conv *c);

/**
 * Advance @p c by one flight (or one TCP event: handshake, close).  Returns
 * 1 while there is more to do, 0 when the conversation is over (its report
 * is final), or a negative error from the emit callback or from memory.
 * A failed TLS handshake is not an error: it ends the conversation (0).
 * On a caller's loop (umpa_tls_conv_new_on) the step only queues the TCP
 * side's packets: they come as the loop runs (umpa_tls_conv_start does it).
 */
int umpa_tls_conv_step(struct umpa_tls_conv *c, struct umpa_err *e);

/** The loop's wall time (virtual: at which @p c's next packet would be stamped), ns since the epoch. */
int64_t umpa_tls_conv_now_ns(const struct umpa_tls_conv *c);

/** The report of @p c (final once umpa_tls_conv_step returned 0). Valid until the conversation is freed. */
const struct umpa_tls_report *umpa_tls_conv_report(const struct umpa_tls_conv *c);

/**
 * SSLKEYLOGFILE lines of @p c's secrets so far (each ends with "\n"),
 * NUL-terminated; @p len (may be NULL) receives the length.  Valid until the
 * next step or free.
 */
const char *umpa_tls_conv_keylog(const struct umpa_tls_conv *c, size_t *len);

/** Free @p c. NULL allowed. Returns NULL. */
struct umpa_tls_conv *umpa_tls_conv_free(struct umpa_tls_conv *c);

/**
 * SSLKEYLOGFILE lines of every conversation umpa_tls_run() ran on @p t so
 * far, in order (NUL-terminated; @p len may be NULL).  Conversations made
 * with umpa_tls_conv_new() keep theirs in umpa_tls_conv_keylog() only, so a
 * long run does not accumulate keys.  Valid until the next umpa_tls_run or
 * umpa_tls_free.  The caller writes the file (mode 0600) and/or a pcapng
 * Decryption Secrets Block (UMPA_SECRETS_TLS_KEYLOG) before the packets
 * that need it.
 */
const char *umpa_tls_keylog(const struct umpa_tls *t, size_t *len);

/**
 * One-call form: a conversation with the pump's own options and, when
 * o->resume is set, a second one (client port + 1 or, with an automatic port,
 * another seed derived from tcp.seed; starting a
 * second after the first ended) resuming the first.  Fills up to @p nrep
 * reports.  Returns the number of conversations run (1 or 2), or a
 * negative error.  A failed handshake is reported, not returned.
 */
int umpa_tls_run(struct umpa_tls *t, umpa_tcps_emit_cb emit, void *arg, struct umpa_tls_report *rep, size_t nrep,
		 struct umpa_err *e);

/**
 * Write @p r as human-readable text (like openssl s_client's summary) into
 * @p buf (NUL-terminated, truncated to @p n).  Returns the length it needed.
 */
size_t umpa_tls_report_text(const struct umpa_tls_report *r, char *buf, size_t n);

/**
 * Write @p r as one JSON object (no newline) into @p buf, as
 * umpa_tls_report_text does.  Returns the length it needed.
 */
size_t umpa_tls_report_json(const struct umpa_tls_report *r, char *buf, size_t n);

/** Flags of umpa_tls_ctx_apply(). */
enum umpa_tls_ctx_flag {
	UMPA_TLS_CTX_CERT = 1 << 0,      /**< also load the side's cert_file / key_file (PEM) */
	UMPA_TLS_CTX_SYSTEM_CA = 1 << 1, /**< client without ca_file: trust the system's CAs */
};

/**
 * Set up a real connection's context @p ssl_ctx (an SSL_CTX *) as side
 * @p side (UMPA_TCPS_CLIENT / UMPA_TCPS_SERVER) of @p o, as the pump sets up
 * its own: versions, ciphers, ciphersuites, groups, sigalgs, security
 * level, max_record, ALPN (a client offers it; a server's selection is the
 * caller's), the trusted CAs (ca_file), and with UMPA_TLS_CTX_CERT the
 * side's certificate and key files.  Used by `tls --connect` and by the
 * proxy's two legs, so one option table serves them all.  Errors as
 * umpa_tls_new's ("ciphers: no cipher matches 'FOO'").  Returns 0 or -code.
 */
int umpa_tls_ctx_apply(void *ssl_ctx, const struct umpa_tls_opts *o, int side, unsigned flags, struct umpa_err *e);

/* ---- one side against a real peer ---- */

/**
 * A live TLS server session: the server side of pump @p t (its context,
 * certificate, versions, ciphers, ALPN ...) fed by a real client's bytes
 * (from a TCP endpoint, umpa_tcpend.h), writing its records back through a
 * callback.  No socket: bytes in (umpa_tls_live_input), bytes out (cbs.out).
 */
struct umpa_tls_live;

/** What happened to a live session. */
enum umpa_tls_live_event {
	UMPA_TLS_LIVE_HANDSHAKE = 1, /**< the handshake completed (umpa_tls_live_report is filled) */
	UMPA_TLS_LIVE_FAILED,        /**< the handshake or a record failed (an alert went out; report.error says why) */
	UMPA_TLS_LIVE_CLOSE_NOTIFY,  /**< the peer sent close_notify: it sends nothing more */
};

/** Callbacks of a live session (all run from umpa_tls_live_input / write / close). */
struct umpa_tls_live_cbs {
	/** TLS bytes for the peer.  Return 0 or a negative error with @p e set. */
	int (*out)(void *arg, const uint8_t *d, size_t n, struct umpa_err *e);
	/** Plaintext received (may be NULL). */
	void (*data)(void *arg, const uint8_t *d, size_t n);
	/** An event (may be NULL). */
	void (*event)(void *arg, enum umpa_tls_live_event ev);
	/** One SSLKEYLOGFILE line (no newline) as the secrets are made, before the records they protect go out. */
	void (*keylog)(void *arg, const char *line);
	void *arg; /**< for all four */
};

/** A server session on pump @p t (which must outlive it).  Returns NULL with @p e set (no memory). */
struct umpa_tls_live *umpa_tls_live_new(struct umpa_tls *t, const struct umpa_tls_live_cbs *cbs, struct umpa_err *e);

/**
 * Bytes from the peer: advance the handshake, deliver plaintext, answer.
 * A failing handshake is not an error (the event says it).  Returns 0 or a
 * negative error of the out callback / memory.
 */
int umpa_tls_live_input(struct umpa_tls_live *l, const void *d, size_t n, struct umpa_err *e);

/**
 * Send @p n plaintext bytes (held until the handshake completes).  Returns
 * @p n or a negative error (UMPA_EINVAL after close or a failure).
 */
int64_t umpa_tls_live_write(struct umpa_tls_live *l, const void *d, size_t n, struct umpa_err *e);

/** Send close_notify (once; nothing before the handshake completed).  Returns 0 or a negative error. */
int umpa_tls_live_close(struct umpa_tls_live *l, struct umpa_err *e);

/** The session's report (server view: version, cipher, group, ALPN, SNI, its certificate as server_chain[0]). */
const struct umpa_tls_report *umpa_tls_live_report(const struct umpa_tls_live *l);

/** Free @p l.  NULL allowed.  Returns NULL. */
struct umpa_tls_live *umpa_tls_live_free(struct umpa_tls_live *l);

#endif
