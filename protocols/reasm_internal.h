/* reasm_internal.h - internal: what protocols/tls.c tells the reassembler (protocols/tcp_reasm.c).
 *
 * Not installed, not exported (names end with an underscore; the library exports
 * only umpa_* names without one, Makefile.am).
 */
#ifndef UMPA_REASM_INTERNAL_H
#define UMPA_REASM_INTERNAL_H

#include "umpa_packet.h"

/** True when tls layer @p li of @p p holds a ServerHello that selects TLS 1.3 (supported_versions). */
int umpa_tls_selects_tls13_(const struct umpa_pkt *p, unsigned li);

/** Mark tls layer @p li of @p p as part of a TLS 1.3 connection (its application data records are then
 * shown with Wireshark's tls.record.opaque_type). */
void umpa_tls_mark_tls13_(struct umpa_pkt *p, unsigned li);

/** True when tls layer @p li of @p p is not a whole record (it continues in later segments, or is not a
 * record at all) or carries only the continuation of a handshake message. */
int umpa_tls_record_partial_(const struct umpa_pkt *p, unsigned li);

/** The protocol application data bytes [@p b, @p b + @p n) hold: HTTP/1.1 when they start like an HTTP
 * request or response, else raw data (protocols/http.c). */
const struct umpa_proto *umpa_app_proto_(const uint8_t *b, size_t n);

/** True when http layer @p li of @p p is a message that continues in later segments (protocols/http.c). */
int umpa_http_partial_(const struct umpa_pkt *p, unsigned li);

/** The length of the longest prefix of [@p b, @p b + @p n) made of whole HTTP/1.x messages (a response
 * without a length takes the rest); *@p bad set when what follows is not an HTTP message (protocols/http.c). */
size_t umpa_http_complete_(const uint8_t *b, size_t n, int *bad);

/** The link type of packets that hold records umpa made (decrypted, or handshake messages reassembled from
 * fragments): their record length may exceed 2^14+2048. */
#define UMPA_LINKTYPE_TLS_MADE_ (-2)

/** True when tls layer @p li of @p p is a plaintext handshake record whose last message continues in the next
 * record; *@p start receives that message's offset in the layer. */
int umpa_tls_hs_frag_(const struct umpa_pkt *p, unsigned li, uint32_t *start);

/** Mark tls layer @p li of @p p as continuing a handshake message of type @p type (completing it when
 * @p last): shown as Wireshark shows fragments. */
void umpa_tls_mark_hs_cont_(struct umpa_pkt *p, unsigned li, uint8_t type, int last);

#endif
