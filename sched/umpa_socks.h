/* umpa_socks.h - the server side of SOCKS version 5 (RFC 1928) with username/password (RFC 1929), and of
 * SOCKS4 and its 4a extension (a name instead of an address; OpenSSH's and curl's clients).
 *
 * The codec is pure: each parser reads the bytes a client sent so far (through
 * the bounds-checked cursor) and says whether a whole message is there, how
 * long it is, and what it asks.  umpa proxy --socks5 (sched/proxy_socks.c)
 * drives it on a socket: greeting -> method choice -> (RFC 1929 sub-negotiation)
 * -> CONNECT request -> the reply once the upstream connect succeeded or failed.
 * Only CONNECT is served; BIND and UDP ASSOCIATE get reply 7 (command not
 * supported).  A client whose first byte is 4 speaks SOCKS4: one request
 * (VN CD DSTPORT DSTIP USERID NUL [HOST NUL]), one reply (granted 90 or
 * rejected 91).
 */
#ifndef UMPA_SOCKS_H
#define UMPA_SOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** SOCKS5 reply codes (RFC 1928 section 6). */
enum umpa_socks5_rep {
	UMPA_SOCKS5_OK = 0,           /**< succeeded */
	UMPA_SOCKS5_FAIL = 1,         /**< general SOCKS server failure */
	UMPA_SOCKS5_NOT_ALLOWED = 2,  /**< connection not allowed by ruleset */
	UMPA_SOCKS5_NET_UNREACH = 3,  /**< network unreachable */
	UMPA_SOCKS5_HOST_UNREACH = 4, /**< host unreachable (also: a name that does not resolve) */
	UMPA_SOCKS5_REFUSED = 5,      /**< connection refused */
	UMPA_SOCKS5_TTL_EXPIRED = 6,  /**< TTL expired (also: the connect timed out) */
	UMPA_SOCKS5_CMD_UNSUPP = 7,   /**< command not supported */
	UMPA_SOCKS5_ATYP_UNSUPP = 8,  /**< address type not supported */
};

/** Authentication methods of the greeting. */
#define UMPA_SOCKS5_M_NONE 0x00     /**< no authentication required */
#define UMPA_SOCKS5_M_USERPASS 0x02 /**< username/password (RFC 1929) */
#define UMPA_SOCKS5_M_NONE_OK 0xff  /**< no acceptable methods */

/** A CONNECT request's destination. */
struct umpa_socks5_req {
	uint8_t cmd;                  /**< 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE */
	uint8_t atyp;                 /**< 1 IPv4, 3 domain name, 4 IPv6 */
	char host[256];               /**< the name (atyp 3) or the address as text */
	uint16_t port;                /**< destination port */
	struct sockaddr_storage addr; /**< atyp 1 and 4: the address and port */
	socklen_t alen;               /**< its length (0 for a name) */
	uint8_t ver;                  /**< 5, or 4 (SOCKS4 and 4a: umpa_socks4_request) */
};

/** SOCKS4 reply codes. */
#define UMPA_SOCKS4_GRANTED 90  /**< request granted */
#define UMPA_SOCKS4_REJECTED 91 /**< request rejected or failed */

/**
 * A SOCKS4 request (VN=4 CD DSTPORT DSTIP USERID NUL) or a SOCKS4a one
 * (DSTIP 0.0.0.x with x nonzero, then HOST NUL) into @p r (ver 4; atyp 1
 * with the address, or 3 with the name; the user id is read and dropped).
 * Returns its length, 0 when more bytes are needed, -1 when it is not
 * version 4 or malformed (a user id or name over 255 bytes, an empty or
 * unprintable name).  The command (1 CONNECT, 2 BIND) is not judged here.
 */
long umpa_socks4_request(const uint8_t *b, size_t n, struct umpa_socks5_req *r);

/**
 * The SOCKS4 reply (VN=0 CD DSTPORT DSTIP) for SOCKS5 code @p rep (OK: 90,
 * anything else: 91) with @p bnd's IPv4 address and port (NULL or IPv6:
 * zeros) into @p out (8 bytes).  Returns 8.
 */
size_t umpa_socks4_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bnd);

/**
 * The greeting (VER NMETHODS METHODS) in the first @p n bytes of @p b.
 * Returns its length with *@p methods a bit mask of what the client offers
 * (bit m for method m < 8), 0 when more bytes are needed, or -1 when it is
 * not SOCKS version 5 (*@p methods then holds the version byte).
 */
long umpa_socks5_greeting(const uint8_t *b, size_t n, unsigned *methods);

/**
 * An RFC 1929 username/password request (VER ULEN UNAME PLEN PASSWD) into
 * @p user and @p pass (each at least 256 bytes, NUL-terminated).  Returns its
 * length, 0 when more bytes are needed, -1 when its version is not 1.
 */
long umpa_socks5_userpass(const uint8_t *b, size_t n, char *user, char *pass);

/**
 * A request (VER CMD RSV ATYP DST.ADDR DST.PORT) into @p r.  Returns its
 * length, 0 when more bytes are needed, or -1 with *@p rep the reply code
 * to send: UMPA_SOCKS5_FAIL (not version 5, an empty or unprintable name),
 * UMPA_SOCKS5_ATYP_UNSUPP (an unknown address type).  The command is not
 * judged here (r->cmd).
 */
long umpa_socks5_request(const uint8_t *b, size_t n, struct umpa_socks5_req *r, uint8_t *rep);

/**
 * A reply (VER REP RSV ATYP BND.ADDR BND.PORT) with code @p rep and bound
 * address @p bnd (NULL: 0.0.0.0:0) into @p out (at least 22 bytes).
 * Returns its length.
 */
size_t umpa_socks5_reply(uint8_t *out, uint8_t rep, const struct sockaddr *bnd);

/** The reply code for a failed connect with errno @p err (ECONNREFUSED: 5, ENETUNREACH: 3 ...). */
uint8_t umpa_socks5_rep_for_errno(int err);

/** The text of reply code @p rep ("connection refused"). */
const char *umpa_socks5_rep_name(uint8_t rep);

#endif
