/* umpa_capfile.h - reading and writing capture files.
 *
 * Reading goes through libpcap (pcap and pcapng).  Writing pcap goes through
 * libpcap; pcapng is written by umpa itself (section header, interface
 * description, enhanced packet blocks with nanosecond timestamps and
 * comments, and decryption secrets blocks).
 */
#ifndef UMPA_CAPFILE_H
#define UMPA_CAPFILE_H

#include <stdint.h>

#include "umpa_error.h"
#include "umpa_packet.h"

/** A capture-file reader. */
struct umpa_capr;

/** Open @p path ("-" for stdin) for reading. Returns NULL with @p e set on failure. */
struct umpa_capr *umpa_capr_open(const char *path, struct umpa_err *e);

/** Link type (LINKTYPE_ value) of the file's first interface. */
int umpa_capr_linktype(const struct umpa_capr *r);

/** True when the file carries nanosecond timestamps. */
int umpa_capr_nsec(const struct umpa_capr *r);

/**
 * Apply a BPF filter expression to the packets read: umpa_capr_next skips
 * the others, and umpa_capr_number still counts them.
 */
int umpa_capr_filter(struct umpa_capr *r, const char *bpf, struct umpa_err *e);

/**
 * Read the next packet into @p p (borrowed bytes, valid until the next call;
 * no layers yet).  Returns 1 for a packet, 0 at the end of the file, or a
 * negative error whose message names the file and the byte offset of the
 * record that could not be read.  Packets read before an error stay valid.
 */
int umpa_capr_next(struct umpa_capr *r, struct umpa_pkt *p, struct umpa_err *e);

/**
 * The file's own number (1-based) of the packet umpa_capr_next returned last,
 * counting the packets a filter skipped (tcpdump's and tshark's frame numbers).
 */
uint64_t umpa_capr_number(const struct umpa_capr *r);

/**
 * The TLS key log text (SSLKEYLOGFILE lines, each ending with a newline) of
 * every Decryption Secrets Block read so far (a pcapng file's DSBs come before
 * the packets they apply to, so after umpa_capr_next returned a packet, the
 * secrets that apply to it are here).  Grows as the file is read: callers
 * remember how much they took (*n).  NULL with *n = 0 when there is none.
 * Borrowed: valid until the next umpa_capr_next or close.
 */
const char *umpa_capr_tls_keylog(const struct umpa_capr *r, size_t *n);

/** Close the reader. Returns NULL. */
struct umpa_capr *umpa_capr_close(struct umpa_capr *r);

/** Capture-file formats umpa writes. */
enum umpa_capfmt {
	UMPA_CAP_PCAP = 0,   /**< classic pcap with the nanosecond magic (via libpcap) */
	UMPA_CAP_PCAPNG = 1, /**< pcapng, nanosecond timestamps, comments, secrets */
};

/** A capture-file writer. */
struct umpa_capw;

/** Create @p path ("-" for stdout) in @p fmt for packets of @p linktype. */
struct umpa_capw *umpa_capw_open(const char *path, enum umpa_capfmt fmt, int linktype, struct umpa_err *e);

/** Append @p p (its bytes, timestamp and, for pcapng, its comment). */
int umpa_capw_write(struct umpa_capw *w, const struct umpa_pkt *p, struct umpa_err *e);

/** pcapng Decryption Secrets Block type for a TLS key log. */
#define UMPA_SECRETS_TLS_KEYLOG 0x544c534bu

/**
 * Append a Decryption Secrets Block (pcapng only; UMPA_ENOSYS for pcap).
 * Secrets apply to the packets written after it.
 */
int umpa_capw_secrets(struct umpa_capw *w, uint32_t type, const void *data, uint32_t n, struct umpa_err *e);

/**
 * Append a note that belongs to no packet (pcapng only; UMPA_ENOSYS for pcap):
 * an Interface Statistics Block of interface 0 with timestamp @p ts_ns (ns
 * since 1970) and @p text as its opt_comment (cut at 65,000 bytes).  Readers
 * that number frames skip it (Wireshark, tshark, libpcap).
 */
int umpa_capw_note(struct umpa_capw *w, int64_t ts_ns, const char *text, struct umpa_err *e);

/** Flush and close. Returns 0 or a negative error (with @p e) if data could not be written. */
int umpa_capw_close(struct umpa_capw *w, struct umpa_err *e);

#endif
