/* icmp_ext.h - internal: ICMP extension structures (RFC 4884), shared by icmp.c and icmpv6.c.
 *
 * Not installed; names end with an underscore.  An ICMP error (IPv4 types 3,
 * 11, 12; IPv6 types 1, 3) may end with an extension structure after the
 * quoted datagram: version 2 (4 bits), reserved (12), checksum (16), then
 * objects (length 16 bits, class, C-type, payload): class 1 the MPLS label
 * stack (RFC 4950), class 2 interface information (RFC 5837).  The dissector
 * finds it, the quoted datagram's window stops before it (umpa_layer.plen),
 * and the details show it under Wireshark's icmp.ext.* names.
 */
#ifndef UMPA_ICMP_EXT_H
#define UMPA_ICMP_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_cursor.h"
#include "umpa_error.h"
#include "umpa_render.h"

/** Bytes of the quoted datagram before the extension structure when the length field is 0 (RFC 4884 s5). */
#define UMPA_ICMP_EXT_COMPAT_ 128

/**
 * Where the extension structure of the error message under @p c (@p len bytes,
 * the quotation from @p body on) starts: after @p quoted bytes of quotation
 * (the length field times its unit; 0: no length, then the compatibility
 * rule's 128 bytes when @p compat), when at least its 4-byte header is there
 * and says version 2.  Returns the offset, or 0 when there is none.
 */
uint32_t umpa_icmp_ext_at_(struct umpa_cur *c, uint32_t body, uint32_t quoted, uint32_t len, int compat);

/** Emit the extension structure at [@p at, @p end) of @p c as Wireshark's "icmp.ext" tree. */
void umpa_icmp_ext_emit_(struct umpa_emit *em, struct umpa_cur *c, uint32_t at, uint32_t end);

/**
 * Build the extension structure a spec describes into @p b (room @p max): the
 * header (version 2, checksum computed) and one object an item:
 * mpls=LABEL:EXP:S:TTL[:LABEL:EXP:S:TTL...] (class 1), ifinfo=ROLE/IFINDEX/ADDR/NAME/MTU
 * (class 2; empty parts are left out, the C-type says which are there),
 * CLASS.CTYPE=HEX (any object).  Returns the length, or a negative error with @p e set.
 */
long umpa_icmp_ext_build_(const char *spec, uint8_t *b, size_t max, struct umpa_err *e);

#endif
