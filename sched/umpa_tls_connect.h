/* umpa_tls_connect.h - a live TLS client: a real handshake with a real server (`umpa tls --connect`).
 *
 * The client side of the pump's options (struct umpa_tls_opts, filled from
 * the one option table: versions, ciphers, ciphersuites, groups, sigalgs,
 * ALPN, SNI, client certificate, trusted CAs, verify) is applied to a real
 * socket's context with umpa_tls_ctx_apply().  The server is always
 * verified and the result reported (chain, result and reason); with
 * o->verify set a failure aborts the handshake, as in the pump.  The name
 * checked is the SNI, else the host given (a host name, or an IP address
 * matched against IP SANs).  Without ca_file the system's CAs are trusted.
 *
 * After the handshake the client sends o->side[CLIENT].data (if any) and
 * reads until the server closes, a quiet interval passes or the deadline
 * comes; then it sends close_notify and a FIN.  With a capture (struct
 * umpa_wtap, umpa_wiretap.h) the conversation is written as TCP packets
 * synthesised from the bytes that crossed the socket, with their timing,
 * and the keys in Decryption Secrets Blocks (tshark decrypts the file
 * alone).  With reconnect, a second connection offers the first one's
 * session (report [1] says whether it was resumed).
 */
#ifndef UMPA_TLS_CONNECT_H
#define UMPA_TLS_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_tls.h"

struct umpa_wtap;

/** How to connect.  Zero is the default for every field. */
struct umpa_tls_connect_opts {
	const char *target;    /**< "HOST:PORT" ("[v6]:PORT") */
	int64_t timeout_ns;    /**< connect, handshake and the whole exchange (0: 10 s) */
	int64_t quiet_ns;      /**< after the data: stop reading after this long without bytes (0: 0.5 s; 0.1 s with
				    nothing to send and no reconnect: tickets and alerts only) */
	int reconnect;         /**< a second connection resuming the first's session */
	struct umpa_wtap *cap; /**< write the conversation here (NULL: none) */
	void (*keylog)(void *arg, const char *line);                /**< each SSLKEYLOGFILE line (NULL: none) */
	void (*data)(void *arg, int conn, const void *d, size_t n); /**< what the server sent (NULL: not kept) */
	void *arg;                                                  /**< for keylog and data */
};

/**
 * Connect, handshake, exchange, close, once or twice (reconnect): fill
 * @p rep[0] (and @p rep[1]).  Returns the number of connections made
 * (1 or 2; a failed handshake is reported, not returned), or a negative
 * error with @p e set: a bad target (UMPA_EINVAL, "target: ..."), a name
 * that does not resolve (UMPA_EIO), a refused or timed-out connect ("connect 127.0.0.1:9: Connection
 * refused"), an option OpenSSL refuses ("ciphers: no cipher matches ...").
 */
int umpa_tls_connect(const struct umpa_tls_opts *o, const struct umpa_tls_connect_opts *co,
		     struct umpa_tls_report rep[2], struct umpa_err *e);

#endif
