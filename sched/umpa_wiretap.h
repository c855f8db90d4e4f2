/* umpa_wiretap.h - real sockets' conversations written as a pcapng with their TLS keys.
 *
 * What a program moved through its own sockets (the bytes it read and
 * wrote, its connects, shutdowns and resets) becomes packets: each TCP
 * connection is a synthesised conversation of the TCP stream
 * (umpa_tcpstream.h: Ethernet/IP/TCP with consistent sequence and
 * acknowledgement numbers, the three-way handshake, FIN or RST at the end)
 * between the connection's real addresses and ports.  Nothing is captured
 * from an interface: no privilege is needed and loopback works.
 *
 * Time: each conversation runs on a private virtual clock that is moved to
 * the real time (CLOCK_REALTIME) before each event, so packets carry the
 * moment the bytes crossed the socket; a conversation's ACKs follow its
 * data after rtt_us/2 (50 us).  Packets of several conversations interleave
 * in the file as the events happened.
 *
 * Keys: umpa_wtap_secret() takes SSLKEYLOGFILE lines; they are written as
 * one Decryption Secrets Block before the next packet.  OpenSSL hands some
 * TLS 1.3 secrets out only after the records they protect crossed the
 * socket (a client logs CLIENT_HANDSHAKE_TRAFFIC_SECRET after reading the
 * server's encrypted flight), while tshark needs them when it reads the
 * ServerHello; so a conversation whose client sends a ClientHello (at the
 * start, or later after STARTTLS) holds its packets until a
 * CLIENT_TRAFFIC_SECRET_0 or CLIENT_RANDOM line names its client random
 * (or it ends, or holds 8 MiB).  Every record's keys precede it in the
 * file and tshark decrypts the file alone, TLS 1.3 included.
 *
 * The tap BIO (umpa_wtap_bio) sees what an SSL object reads from and writes
 * to its socket: the TLS records as they are on the wire.
 *
 * Errors: a write that fails (disk full) sets the writer's error once; the
 * next calls do nothing and umpa_wtap_close() returns it.  Recording never
 * stops the program whose bytes are recorded.
 */
#ifndef UMPA_WIRETAP_H
#define UMPA_WIRETAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "umpa_error.h"

/** A pcapng file of conversations (opaque). */
struct umpa_wtap;

/** One TCP conversation in it (opaque). */
struct umpa_wtap_conv;

/** Create pcapng file @p path ("-": stdout).  Returns NULL with @p e set. */
struct umpa_wtap *umpa_wtap_open(const char *path, struct umpa_err *e);

/** Queue SSLKEYLOGFILE line @p line (no newline needed) for the next Decryption Secrets Block. */
void umpa_wtap_secret(struct umpa_wtap *w, const char *line);

/** Packets written so far. */
uint64_t umpa_wtap_packets(const struct umpa_wtap *w);

/**
 * Write what is pending (held conversations are released), close the file,
 * free @p w.  Free every conversation of @p w before (a held one may be
 * freed after: it writes nothing more).  Returns 0 or the first write error
 * (@p e set).
 */
int umpa_wtap_close(struct umpa_wtap *w, struct umpa_err *e);

/**
 * A conversation between @p cli (the side that connected) and @p srv (IPv4
 * or IPv6; both of one family, else the client's family wins and the
 * other address is left zero), its handshake written now.  Returns NULL
 * when @p w failed or no memory.
 */
struct umpa_wtap_conv *umpa_wtap_conv_new(struct umpa_wtap *w, const struct sockaddr *cli, const struct sockaddr *srv);

/** @p n bytes that @p sender (0 the connecting side, 1 the other) sent. */
void umpa_wtap_conv_data(struct umpa_wtap_conv *c, int sender, const void *d, size_t n);

/** @p sender shut its sending side down (FIN); the second FIN closes the conversation. */
void umpa_wtap_conv_fin(struct umpa_wtap_conv *c, int sender);

/** @p sender reset the connection (RST), unless it is closed already. */
void umpa_wtap_conv_reset(struct umpa_wtap_conv *c, int sender);

/** True once both FINs or a RST were written. */
int umpa_wtap_conv_closed(const struct umpa_wtap_conv *c);

/** Free @p c (nothing more is written for it).  NULL allowed. */
void umpa_wtap_conv_free(struct umpa_wtap_conv *c);

/** What a tap BIO reports: @p n bytes read from (@p sent 0) or written to (@p sent 1) the socket. */
typedef void (*umpa_wtap_bio_cb)(void *arg, int sent, const void *d, size_t n);

/**
 * A socket BIO on @p fd (not closed by the BIO) that reports every byte it
 * reads or writes to @p cb with @p arg (both must outlive it).  Give it to
 * an SSL object with SSL_set_bio(ssl, b, b) (libevent's
 * bufferevent_openssl_socket_new keeps a BIO on the same fd).  Returns a
 * BIO * (as void *, so this header needs no OpenSSL) or NULL.
 */
void *umpa_wtap_bio(int fd, umpa_wtap_bio_cb cb, void *arg);

struct umpa_proxy_tap;

/**
 * Fill @p t (umpa_proxy.h's opts.tap) so a proxy writes both legs of every
 * connection into @p w: leg 0 between the client and the proxy's listening
 * address, leg 1 between the proxy's upstream socket and the target; a
 * connection that does not end with both FINs ends with the proxy's RST.
 * Key lines still go through umpa_wtap_secret (the proxy's keylog hook).
 */
void umpa_wtap_proxy_tap(struct umpa_wtap *w, struct umpa_proxy_tap *t);

#endif
