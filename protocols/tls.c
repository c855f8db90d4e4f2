/* tls.c - Transport Layer Security records and handshake messages (RFC 8446, RFC 5246; extensions RFC 6066,
 * RFC 7301, RFC 8422, RFC 8449).
 *
 * One layer is one TLS record.  The field table describes the 5-byte record
 * header (Wireshark's tls.record.content_type, tls.record.version,
 * tls.record.length; Scapy-style aliases type, version, len); the record's
 * content is part of the layer's header (l->hlen = 5 + length), as DNS keeps
 * its sections, so several records in one TCP segment are consecutive tls
 * layers.  The details hook shows the content the way Wireshark does:
 * handshake messages (ClientHello and ServerHello with their extensions --
 * server_name, ALPN, supported_versions, key_share, supported_groups,
 * signature_algorithms and more --, Certificate with each certificate's
 * subject and issuer read by OpenSSL, the others by name), alerts, change
 * cipher spec, application data.  Cipher suites, groups, signature schemes,
 * extensions and alerts are named from tables (the cipher suite table is the
 * list of every suite the OpenSSL 3.0 library knows, by IANA name, which is
 * also Wireshark's).
 *
 * Which records are plaintext: a record parser sees one packet and no
 * session state, so a handshake record counts as plaintext when its messages
 * have known types and tile the record exactly (the last one may run past
 * the end of a record of at least 512 bytes, up to 256 KiB: a message
 * fragmented over several records, marked as such); anything else is an
 * "Encrypted Handshake Message", as Wireshark says when it cannot decrypt.
 * (Wireshark knows from the session; a lone encrypted record that happens
 * to parse is misread with a chance of about 2^-24.)  An alert record of other than 2 bytes is an
 * "Encrypted Alert".
 *
 * Dissecting reads through umpa_cur only and allocates nothing, except for
 * certificates when they are shown (d2i_X509, at most 64 KiB per
 * certificate).  A record longer than the bytes present is, in this order:
 * truncated (the capture cut it), a "TLS segment of a reassembled PDU" when
 * TLS runs over TCP (the record continues in later segments: nothing is
 * wrong; protocols/tcp_reasm.c reassembles it), or invalid.  A record length
 * above 2^14 + 2048 (RFC 5246 6.2.3) or a vector length inside a message that
 * overruns its container flags the layer INVALID.  A record whose content
 * type is not 20-24 or whose version is not 3.x is shown as "Ignored Unknown
 * Record" (Wireshark's words) and takes the rest of the window.
 *
 * Building: tls{} is a handshake record of version TLS 1.2 with its length
 * automatic (the bytes up to the next tls layer, or to the end).  The record
 * content is either the layers that follow (a raw payload: tls{}/"\x01...")
 * or one of three VAR fields (setting one replaces the content):
 *     handshake   messages, items separated by ','; an item is TYPE or
 *                 TYPE=hex: the message type by name (client_hello,
 *                 server_hello, certificate, server_key_exchange,
 *                 certificate_request, server_hello_done, certificate_verify,
 *                 client_key_exchange, finished, new_session_ticket,
 *                 encrypted_extensions, key_update, ...) or number, and its
 *                 body as hex; the 3-byte message length is computed.
 *                 "client_hello=0303<random>...,finished=..."
 *     alert       LEVEL:DESCRIPTION by name (warning|fatal, close_notify,
 *                 handshake_failure, ...) or number: "fatal:handshake_failure"
 *     data        the content as hex bytes (application data, change cipher
 *                 spec "01", anything)
 * The content type is automatic from the field set (handshake 22, alert 21,
 * otherwise 22 unless set).  Full ClientHello/ServerHello builders from
 * parameters are not here: the TLS pump (sched/) makes real ones with OpenSSL.
 *
 * l->aux holds TLS_A_* bits: what dissect found, and for built layers which
 * VAR field gave the content.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto_common.h"
#include "reasm_internal.h"
#include "tls_decrypt_internal.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"
#include "umpa_render.h"

enum { TLS_HDR = 5, TLS_MAX_RECORD = 16384 + 2048, TLS_MAX_CERT = 65536 };

enum {
	CT_CCS = 20,
	CT_ALERT = 21,
	CT_HANDSHAKE = 22,
	CT_APPDATA = 23,
	CT_HEARTBEAT = 24,
};

/* l->aux bits */
enum {
	TLS_A_PARTIAL = 1 << 0,   /* the record continues in later TCP segments */
	TLS_A_IGNORED = 1 << 1,   /* not a TLS record header */
	TLS_A_ENCRYPTED = 1 << 2, /* handshake or alert content that does not parse: encrypted */
	TLS_A_HSFRAG = 1 << 3,    /* the last handshake message continues in the next record */
	TLS_A_HSCONT = 1 << 5,    /* continues a handshake message begun in an earlier record (set by tcp_reasm.c;
				     the message's type in bits 16-23) */
	TLS_A_HSLAST = 1 << 6,    /* ... and completes it */
	TLS_A_TLS13 = 1 << 4,     /* the connection negotiated TLS 1.3 (set by tcp_reasm.c): opaque type */
	TLS_A_CT_HS = 1 << 8,     /* built: content from the handshake field */
	TLS_A_CT_ALERT = 1 << 9,  /* built: content from the alert field */
};

static const struct umpa_vname tls_ct_names[] = {
    {CT_CCS, "change_cipher_spec"},   {CT_ALERT, "alert"},         {CT_HANDSHAKE, "handshake"},
    {CT_APPDATA, "application_data"}, {CT_HEARTBEAT, "heartbeat"}, {0, NULL},
};

static const struct umpa_vname tls_version_names[] = {
    {0x0300, "SSL 3.0"},  {0x0301, "TLS 1.0"},  {0x0302, "TLS 1.1"},  {0x0303, "TLS 1.2"}, {0x0304, "TLS 1.3"},
    {0xfeff, "DTLS 1.0"}, {0xfefd, "DTLS 1.2"}, {0xfefc, "DTLS 1.3"}, {0, NULL},
};

/* Field indexes: the order of tls_fields. */
enum { F_CT, F_VER, F_LEN, F_HS, F_ALERT, F_DATA, F_COUNT };

static const struct umpa_field tls_fields[] = {
    [F_CT] = {.name = "record.content_type",
	      .ws = "tls.record.content_type",
	      .aliases = "content_type,type",
	      .bitoff = 0,
	      .bits = 8,
	      .type = UMPA_FT_ENUM,
	      .flags = UMPA_F_AUTO | UMPA_F_HIDDEN,
	      .def = CT_HANDSHAKE,
	      .names = tls_ct_names,
	      .help = "content type: change_cipher_spec, alert, handshake, application_data, heartbeat (automatic from "
		      "the content field set)"},
    [F_VER] = {.name = "record.version",
	       .ws = "tls.record.version",
	       .aliases = "version",
	       .bitoff = 8,
	       .bits = 16,
	       .type = UMPA_FT_ENUM,
	       .flags = UMPA_F_HIDDEN,
	       .def = 0x0303,
	       .names = tls_version_names,
	       .help = "record version (0x0303 TLS 1.2; TLS 1.3 records say 0x0303 too)"},
    [F_LEN] = {.name = "record.length",
	       .ws = "tls.record.length",
	       .aliases = "length,len",
	       .bitoff = 24,
	       .bits = 16,
	       .type = UMPA_FT_UINT,
	       .flags = UMPA_F_AUTO | UMPA_F_HIDDEN,
	       .help = "length of the record content (automatic)"},
    [F_HS] = {.name = "handshake",
	      .ws = "tls.handshake",
	      .bitoff = 40,
	      .bits = 0,
	      .type = UMPA_FT_VAR,
	      .help =
		  "handshake messages: TYPE[=hexbody],... (client_hello, server_hello, certificate, finished, ... or a "
		  "number)"},
    [F_ALERT] = {.name = "alert",
		 .ws = "tls.alert_message",
		 .bitoff = 40,
		 .bits = 0,
		 .type = UMPA_FT_VAR,
		 .help = "alert: LEVEL:DESCRIPTION (warning|fatal, close_notify, handshake_failure, ... or numbers)"},
    [F_DATA] = {.name = "data",
		.ws = "tls.app_data",
		.aliases = "fragment,body",
		.bitoff = 40,
		.bits = 0,
		.type = UMPA_FT_VAR,
		.help = "the record content as hex bytes"},
};
UMPA_FIELDS_CHECK(tls_fields, F_COUNT);

extern const struct umpa_proto umpa_proto_tls;

/* ---- names ---- */

/** A handshake message type: Wireshark's name and the build-spec name. */
struct hs_type {
	uint8_t v;
	const char *ws;
	const char *spec;
};

static const struct hs_type hs_types[] = {
    {0, "Hello Request", "hello_request"},
    {1, "Client Hello", "client_hello"},
    {2, "Server Hello", "server_hello"},
    {3, "Hello Verify Request", "hello_verify_request"},
    {4, "New Session Ticket", "new_session_ticket"},
    {5, "End of Early Data", "end_of_early_data"},
    {6, "Hello Retry Request", "hello_retry_request"},
    {8, "Encrypted Extensions", "encrypted_extensions"},
    {11, "Certificate", "certificate"},
    {12, "Server Key Exchange", "server_key_exchange"},
    {13, "Certificate Request", "certificate_request"},
    {14, "Server Hello Done", "server_hello_done"},
    {15, "Certificate Verify", "certificate_verify"},
    {16, "Client Key Exchange", "client_key_exchange"},
    {20, "Finished", "finished"},
    {21, "Certificate URL", "certificate_url"},
    {22, "Certificate Status", "certificate_status"},
    {23, "Supplemental Data", "supplemental_data"},
    {24, "Key Update", "key_update"},
    {25, "Compressed Certificate", "compressed_certificate"},
    {67, "Next Protocol", "next_protocol"},
    {254, "Message Hash", "message_hash"},
};

static const struct hs_type *hs_type_find(uint8_t v)
{
	for (size_t i = 0; i < sizeof(hs_types) / sizeof(hs_types[0]); i++)
		if (hs_types[i].v == v)
			return &hs_types[i];
	return NULL;
}

static const struct umpa_vname alert_levels[] = {{1, "Warning"}, {2, "Fatal"}, {0, NULL}};

/* RFC 8446 6, RFC 5246 7.2; Wireshark's names. */
static const struct umpa_vname alert_descs[] = {
    {0, "Close Notify"},
    {10, "Unexpected Message"},
    {20, "Bad Record MAC"},
    {21, "Decryption Failed"},
    {22, "Record Overflow"},
    {30, "Decompression Failure"},
    {40, "Handshake Failure"},
    {41, "No Certificate"},
    {42, "Bad Certificate"},
    {43, "Unsupported Certificate"},
    {44, "Certificate Revoked"},
    {45, "Certificate Expired"},
    {46, "Certificate Unknown"},
    {47, "Illegal Parameter"},
    {48, "Unknown CA"},
    {49, "Access Denied"},
    {50, "Decode Error"},
    {51, "Decrypt Error"},
    {60, "Export Restriction"},
    {70, "Protocol Version"},
    {71, "Insufficient Security"},
    {80, "Internal Error"},
    {86, "Inappropriate Fallback"},
    {90, "User Canceled"},
    {100, "No Renegotiation"},
    {109, "Missing Extension"},
    {110, "Unsupported Extension"},
    {111, "Certificate Unobtainable"},
    {112, "Unrecognized Name"},
    {113, "Bad Certificate Status Response"},
    {114, "Bad Certificate Hash Value"},
    {115, "Unknown PSK Identity"},
    {116, "Certificate Required"},
    {120, "No application Protocol"},
    {0, NULL},
};

/* Build-spec spellings of the alert descriptions (RFC 8446's identifiers). */
static const struct umpa_vname alert_spec[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {21, "decryption_failed"},
    {22, "record_overflow"},
    {30, "decompression_failure"},
    {40, "handshake_failure"},
    {41, "no_certificate"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {100, "no_renegotiation"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
    {0, NULL},
};

static const struct umpa_vname alert_level_spec[] = {{1, "warning"}, {2, "fatal"}, {0, NULL}};

/** A cipher suite: IANA number and name. */
struct suite {
	uint16_t v;
	const char *name;
};

/* Every suite OpenSSL 3.0 knows (SSL_CIPHER_get_protocol_id, SSL_CIPHER_standard_name, with
 * "ALL:COMPLEMENTOFALL:@SECLEVEL=0"), sorted by number for a binary search.  A const table rather than a
 * lookup through an SSL object: no context to create, no global state. */
static const struct suite suites[] = {
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x002c, "TLS_PSK_WITH_NULL_SHA"},
    {0x002d, "TLS_DHE_PSK_WITH_NULL_SHA"},
    {0x002e, "TLS_RSA_PSK_WITH_NULL_SHA"},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
    {0x003b, "TLS_RSA_WITH_NULL_SHA256"},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
    {0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
    {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
    {0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
    {0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
    {0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"},
    {0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"},
    {0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"},
    {0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"},
    {0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"},
    {0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"},
    {0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"},
    {0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
    {0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
    {0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
    {0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"},
    {0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00aa, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00ab, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00ac, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"},
    {0x00ad, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"},
    {0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00b0, "TLS_PSK_WITH_NULL_SHA256"},
    {0x00b1, "TLS_PSK_WITH_NULL_SHA384"},
    {0x00b2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00b3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256"},
    {0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384"},
    {0x00b6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"},
    {0x00b7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"},
    {0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256"},
    {0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384"},
    {0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00bd, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"},
    {0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"},
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"},
    {0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
    {0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
    {0xc01d, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"},
    {0xc01e, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"},
    {0xc01f, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"},
    {0xc020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"},
    {0xc021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"},
    {0xc022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"},
    {0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"},
    {0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"},
    {0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"},
    {0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA"},
    {0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256"},
    {0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384"},
    {0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"},
    {0xc057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"},
    {0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},
    {0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xc06a, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xc06b, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xc06c, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xc06d, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xc06e, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"},
    {0xc06f, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"},
    {0xc072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc09a, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"},
    {0xc09b, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"},
    {0xc09c, "TLS_RSA_WITH_AES_128_CCM"},
    {0xc09d, "TLS_RSA_WITH_AES_256_CCM"},
    {0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"},
    {0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"},
    {0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"},
    {0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"},
    {0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"},
    {0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"},
    {0xc0a4, "TLS_PSK_WITH_AES_128_CCM"},
    {0xc0a5, "TLS_PSK_WITH_AES_256_CCM"},
    {0xc0a6, "TLS_DHE_PSK_WITH_AES_128_CCM"},
    {0xc0a7, "TLS_DHE_PSK_WITH_AES_256_CCM"},
    {0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8"},
    {0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8"},
    {0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8"},
    {0xc0ab, "TLS_PSK_DHE_WITH_AES_256_CCM_8"},
    {0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"},
    {0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"},
    {0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
    {0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
    {0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"},
};

static const char *suite_name(uint16_t v)
{
	size_t lo = 0, hi = sizeof(suites) / sizeof(suites[0]);

	if ((v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff))
		return "Reserved (GREASE)";
	if (v == 0x00ff)
		return "TLS_EMPTY_RENEGOTIATION_INFO_SCSV";
	if (v == 0x5600)
		return "TLS_FALLBACK_SCSV";
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (suites[mid].v == v)
			return suites[mid].name;
		if (suites[mid].v < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Named groups (RFC 8446 4.2.7, RFC 8422, RFC 7919). */
static const struct umpa_vname group_names[] = {
    {1, "sect163k1"},
    {2, "sect163r1"},
    {3, "sect163r2"},
    {4, "sect193r1"},
    {5, "sect193r2"},
    {6, "sect233k1"},
    {7, "sect233r1"},
    {8, "sect239k1"},
    {9, "sect283k1"},
    {10, "sect283r1"},
    {11, "sect409k1"},
    {12, "sect409r1"},
    {13, "sect571k1"},
    {14, "sect571r1"},
    {15, "secp160k1"},
    {16, "secp160r1"},
    {17, "secp160r2"},
    {18, "secp192k1"},
    {19, "secp192r1"},
    {20, "secp224k1"},
    {21, "secp224r1"},
    {22, "secp256k1"},
    {23, "secp256r1"},
    {24, "secp384r1"},
    {25, "secp521r1"},
    {26, "brainpoolP256r1"},
    {27, "brainpoolP384r1"},
    {28, "brainpoolP512r1"},
    {29, "x25519"},
    {30, "x448"},
    {31, "brainpoolP256r1tls13"},
    {32, "brainpoolP384r1tls13"},
    {33, "brainpoolP512r1tls13"},
    {256, "ffdhe2048"},
    {257, "ffdhe3072"},
    {258, "ffdhe4096"},
    {259, "ffdhe6144"},
    {260, "ffdhe8192"},
    {0, NULL},
};

/* Signature schemes (RFC 8446 4.2.3); Wireshark's names. */
static const struct umpa_vname sigalg_names[] = {
    {0x0201, "rsa_pkcs1_sha1"},
    {0x0202, "SHA1 DSA"},
    {0x0203, "ecdsa_sha1"},
    {0x0301, "SHA224 RSA"},
    {0x0302, "SHA224 DSA"},
    {0x0303, "SHA224 ECDSA"},
    {0x0401, "rsa_pkcs1_sha256"},
    {0x0402, "SHA256 DSA"},
    {0x0403, "ecdsa_secp256r1_sha256"},
    {0x0501, "rsa_pkcs1_sha384"},
    {0x0502, "SHA384 DSA"},
    {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0601, "rsa_pkcs1_sha512"},
    {0x0602, "SHA512 DSA"},
    {0x0603, "ecdsa_secp521r1_sha512"},
    {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},
    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},
    {0x0808, "ed448"},
    {0x0809, "rsa_pss_pss_sha256"},
    {0x080a, "rsa_pss_pss_sha384"},
    {0x080b, "rsa_pss_pss_sha512"},
    {0x081a, "ecdsa_brainpoolP256r1tls13_sha256"},
    {0x081b, "ecdsa_brainpoolP384r1tls13_sha384"},
    {0x081c, "ecdsa_brainpoolP512r1tls13_sha512"},
    {0, NULL},
};

/* Extension types (IANA TLS ExtensionType registry); Wireshark's names. */
static const struct umpa_vname ext_names[] = {
    {0, "server_name"},
    {1, "max_fragment_length"},
    {2, "client_certificate_url"},
    {3, "trusted_ca_keys"},
    {4, "truncated_hmac"},
    {5, "status_request"},
    {6, "user_mapping"},
    {7, "client_authz"},
    {8, "server_authz"},
    {9, "cert_type"},
    {10, "supported_groups"},
    {11, "ec_point_formats"},
    {12, "srp"},
    {13, "signature_algorithms"},
    {14, "use_srtp"},
    {15, "heartbeat"},
    {16, "application_layer_protocol_negotiation"},
    {17, "status_request_v2"},
    {18, "signed_certificate_timestamp"},
    {19, "client_certificate_type"},
    {20, "server_certificate_type"},
    {21, "padding"},
    {22, "encrypt_then_mac"},
    {23, "extended_master_secret"},
    {24, "token_binding"},
    {25, "cached_info"},
    {27, "compress_certificate"},
    {28, "record_size_limit"},
    {35, "session_ticket"},
    {41, "pre_shared_key"},
    {42, "early_data"},
    {43, "supported_versions"},
    {44, "cookie"},
    {45, "psk_key_exchange_modes"},
    {47, "certificate_authorities"},
    {48, "oid_filters"},
    {49, "post_handshake_auth"},
    {50, "signature_algorithms_cert"},
    {51, "key_share"},
    {57, "quic_transport_parameters"},
    {13172, "next_protocol_negotiation"},
    {17513, "application_settings"},
    {65281, "renegotiation_info"},
    {0, NULL},
};

static const struct umpa_vname comp_names[] = {{0, "null"}, {1, "DEFLATE"}, {64, "LZS"}, {0, NULL}};

static const struct umpa_vname psk_mode_names[] = {
    {0, "PSK-only key establishment (psk_ke)"}, {1, "PSK with (EC)DHE key establishment (psk_dhe_ke)"}, {0, NULL}};

static const char *version_label(uint16_t v)
{
	switch (v) {
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1";
	case 0x0302:
		return "TLSv1.1";
	case 0x0303:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	default:
		return "TLS";
	}
}

static const char *grease_or(const struct umpa_vname *t, uint16_t v)
{
	return grease(v) ? "Reserved (GREASE)" : umpa_vname_find(t, v);
}

/* ---- the record header ---- */

/** True when [ct, ver, len] look like a TLS record header (the heuristic for ports not bound to TLS). */
static int record_plausible(uint8_t ct, uint16_t ver, uint16_t len)
{
	return ct >= CT_CCS && ct <= CT_HEARTBEAT && (ver >> 8) == 3 && (ver & 0xff) <= 4 && len > 0 &&
	       len <= TLS_MAX_RECORD;
}

int umpa_tls_looks_like(struct umpa_cur *c)
{
	uint8_t ct;
	uint16_t ver, len;

	if (umpa_cur_u8_at(c, 0, &ct) < 0 || umpa_cur_be16_at(c, 1, &ver) < 0 || umpa_cur_be16_at(c, 3, &len) < 0)
		return 0;
	return record_plausible(ct, ver, len);
}

/* ---- walking the content (shared by dissect, which validates, and details, which shows) ---- */

/** A content walker: emits through em when not NULL; remembers the first lie it finds. */
struct walk {
	struct umpa_emit *em;
	const char *bad; /* static text: the first length that lies, or NULL */
	int server;      /* inside a ServerHello (extensions read differently) */
	int made;        /* a record umpa made (decrypted or reassembled): known to be plaintext */
	char text[512];  /* scratch for strings and labels */
};

static void w_bad(struct walk *w, const char *why)
{
	if (!w->bad)
		w->bad = why;
}

static void w_u64(struct walk *w, const char *key, uint64_t v, const char *vname)
{
	if (w->em)
		umpa_emit_u64(w->em, key, v, vname);
}

static void w_bytes(struct walk *w, const char *key, const uint8_t *b, size_t n)
{
	if (w->em)
		umpa_emit_bytes(w->em, key, b, n);
}

static void w_open(struct walk *w, const char *key, const char *label)
{
	if (w->em)
		umpa_emit_open(w->em, key, label);
}

static void w_close(struct walk *w)
{
	if (w->em)
		umpa_emit_close(w->em);
}

/* Copy n wire bytes as printable text into w->text ('.' for other bytes, as Wireshark's format_text does
 * roughly); returns w->text. */
static const char *w_text(struct walk *w, struct umpa_cur *c)
{
	size_t k = 0;
	uint8_t b;

	for (size_t i = 0; k + 1 < sizeof(w->text) && umpa_cur_u8_at(c, i, &b) == 0; i++)
		w->text[k++] = (b >= 0x20 && b < 0x7f) ? (char)b : '.';
	w->text[k] = 0;
	return w->text;
}

/* Read a vector: a length of nb (1..3) bytes at c->pos, then that many bytes as *sub.  Returns 0, or -1
 * (and records why) when the length runs past the cursor. */
static int vec(struct walk *w, struct umpa_cur *c, unsigned nb, const char *key, struct umpa_cur *sub)
{
	uint32_t n = 0;
	uint8_t b;

	for (unsigned i = 0; i < nb; i++) {
		if (umpa_cur_u8(c, &b) < 0) {
			w_bad(w, "tls vector length cut short");
			return -1;
		}
		n = n << 8 | b;
	}
	if (key)
		w_u64(w, key, n, NULL);
	if (umpa_cur_sub(c, c->pos, n, sub) < 0) {
		w_bad(w, "tls vector length overruns its container");
		return -1;
	}
	c->pos += n;
	return 0;
}

/* A list of 16-bit values (cipher suites, groups, signature schemes, versions). */
static void list16(struct walk *w, struct umpa_cur *l, const char *key, const struct umpa_vname *names, int suites_)
{
	uint16_t v;

	if (l->len % 2)
		w_bad(w, "tls list of 16-bit values has an odd length");
	while (umpa_cur_be16(l, &v) == 0)
		w_u64(w, key, v, suites_ ? suite_name(v) : grease_or(names, v));
}

/* One extension's content. */
static void ext_body(struct walk *w, uint16_t type, struct umpa_cur *d)
{
	struct umpa_cur l, s;
	uint8_t b;
	uint16_t v;
	const uint8_t *bytes;
	char label[64];

	switch (type) {
	case 0: /* server_name: empty in a ServerHello */
		if (d->len == 0)
			return;
		if (vec(w, d, 2, "tls.handshake.extensions_server_name_list_len", &l) < 0)
			return;
		while (umpa_cur_left(&l) > 0) {
			if (umpa_cur_u8(&l, &b) < 0)
				break;
			w_open(w, "tls.handshake.extensions_server_name_indication",
			       "Server Name Indication extension");
			w_u64(w, "tls.handshake.extensions_server_name_type", b, b == 0 ? "host_name" : NULL);
			if (vec(w, &l, 2, "tls.handshake.extensions_server_name_len", &s) == 0 && w->em)
				umpa_emit_str(w->em, "tls.handshake.extensions_server_name", w_text(w, &s));
			w_close(w);
		}
		return;
	case 10: /* supported_groups */
		if (vec(w, d, 2, "tls.handshake.extensions_supported_groups_length", &l) < 0)
			return;
		snprintf(label, sizeof(label), "Supported Groups (%zu groups)", l.len / 2);
		w_open(w, "tls.handshake.extensions_supported_groups", label);
		list16(w, &l, "tls.handshake.extensions_supported_group", group_names, 0);
		w_close(w);
		return;
	case 11: /* ec_point_formats */
		if (vec(w, d, 1, "tls.handshake.extensions_ec_point_formats_length", &l) < 0)
			return;
		while (umpa_cur_u8(&l, &b) == 0)
			w_u64(w, "tls.handshake.extensions_ec_point_format", b,
			      b == 0   ? "uncompressed"
			      : b == 1 ? "ansiX962_compressed_prime"
			      : b == 2 ? "ansiX962_compressed_char2"
				       : NULL);
		return;
	case 13: /* signature_algorithms */
	case 50: /* signature_algorithms_cert */
		if (vec(w, d, 2, "tls.handshake.sig_hash_alg_len", &l) < 0)
			return;
		snprintf(label, sizeof(label), "Signature Hash Algorithms (%zu algorithms)", l.len / 2);
		w_open(w, "tls.handshake.sig_hash_algs", label);
		list16(w, &l, "tls.handshake.sig_hash_alg", sigalg_names, 0);
		w_close(w);
		return;
	case 16: /* ALPN */
		if (vec(w, d, 2, "tls.handshake.extensions_alpn_len", &l) < 0)
			return;
		w_open(w, "tls.handshake.extensions_alpn_list", "ALPN Protocol");
		while (umpa_cur_left(&l) > 0) {
			if (vec(w, &l, 1, "tls.handshake.extensions_alpn_str_len", &s) < 0)
				break;
			if (w->em)
				umpa_emit_str(w->em, "tls.handshake.extensions_alpn_str", w_text(w, &s));
		}
		w_close(w);
		return;
	case 21: /* padding */
		if (umpa_cur_ptr_at(d, 0, d->len, &bytes) == 0 && d->len)
			w_bytes(w, "tls.handshake.extensions_padding_data", bytes, d->len);
		return;
	case 28: /* record_size_limit */
		if (umpa_cur_be16_at(d, 0, &v) == 0)
			w_u64(w, "tls.record_size_limit", v, NULL);
		else
			w_bad(w, "tls record_size_limit extension too short");
		return;
	case 43: /* supported_versions: a list in a ClientHello, one version in a ServerHello */
		if (w->server) {
			if (umpa_cur_be16_at(d, 0, &v) == 0)
				w_u64(w, "tls.handshake.extensions.supported_version", v,
				      grease_or(tls_version_names, v));
			else
				w_bad(w, "tls supported_versions extension too short");
			return;
		}
		if (vec(w, d, 1, "tls.handshake.extensions.supported_versions_len", &l) < 0)
			return;
		list16(w, &l, "tls.handshake.extensions.supported_version", tls_version_names, 0);
		return;
	case 45: /* psk_key_exchange_modes */
		if (vec(w, d, 1, "tls.extension.psk_ke_modes_length", &l) < 0)
			return;
		while (umpa_cur_u8(&l, &b) == 0)
			w_u64(w, "tls.extension.psk_ke_mode", b, umpa_vname_find(psk_mode_names, b));
		return;
	case 51: /* key_share */
		if (w->server) {
			/* ServerHello: one entry; HelloRetryRequest: the selected group only */
			if (d->len == 2) {
				if (umpa_cur_be16_at(d, 0, &v) == 0)
					w_u64(w, "tls.handshake.extensions_key_share_selected_group", v,
					      grease_or(group_names, v));
				return;
			}
			l = *d;
		} else if (vec(w, d, 2, "tls.handshake.extensions_key_share_client_length", &l) < 0) {
			return;
		}
		while (umpa_cur_left(&l) > 0) {
			if (umpa_cur_be16(&l, &v) < 0) {
				w_bad(w, "tls key_share entry cut short");
				break;
			}
			snprintf(label, sizeof(label), "Key Share Entry: Group: %s",
				 grease_or(group_names, v) ? grease_or(group_names, v) : "Unknown");
			w_open(w, "tls.handshake.extensions_key_share_entry", label);
			w_u64(w, "tls.handshake.extensions_key_share_group", v, grease_or(group_names, v));
			if (vec(w, &l, 2, "tls.handshake.extensions_key_share_key_exchange_length", &s) == 0 && s.len &&
			    umpa_cur_ptr_at(&s, 0, s.len, &bytes) == 0)
				w_bytes(w, "tls.handshake.extensions_key_share_key_exchange", bytes, s.len);
			w_close(w);
		}
		return;
	case 65281: /* renegotiation_info */
		if (vec(w, d, 1, "tls.handshake.extensions_reneg_info_len", &l) == 0 && l.len &&
		    umpa_cur_ptr_at(&l, 0, l.len, &bytes) == 0)
			w_bytes(w, "tls.handshake.extensions_reneg_info", bytes, l.len);
		return;
	default:
		/* Wireshark shows the bytes of extensions it does not know (GREASE included) */
		if (!umpa_vname_find(ext_names, type) && d->len && umpa_cur_ptr_at(d, 0, d->len, &bytes) == 0)
			w_bytes(w, "tls.handshake.extension.data", bytes, d->len);
		return;
	}
}

/* The extensions block of a hello (the rest of the message after the fixed part). */
static void extensions(struct walk *w, struct umpa_cur *m)
{
	struct umpa_cur all, d;
	uint16_t type;
	char label[96];

	if (umpa_cur_left(m) == 0)
		return; /* no extensions (TLS 1.0 style) */
	if (vec(w, m, 2, "tls.handshake.extensions_length", &all) < 0)
		return;
	if (umpa_cur_left(m) != 0)
		w_bad(w, "tls hello has bytes after its extensions");
	while (umpa_cur_left(&all) > 0) {
		const char *name;
		size_t at;
		if (umpa_cur_be16(&all, &type) < 0) {
			w_bad(w, "tls extension header cut short");
			return;
		}
		name = grease(type) ? "Reserved (GREASE)" : umpa_vname_find(ext_names, type);
		at = all.pos;
		if (umpa_cur_has(&all, at, 2)) {
			uint16_t elen;
			umpa_cur_be16_at(&all, at, &elen);
			snprintf(label, sizeof(label), "Extension: %s (len=%u)", name ? name : "Unknown", elen);
		} else {
			snprintf(label, sizeof(label), "Extension: %s", name ? name : "Unknown");
		}
		w_open(w, "tls.handshake.extension", label);
		w_u64(w, "tls.handshake.extension.type", type, name);
		if (vec(w, &all, 2, "tls.handshake.extension.len", &d) == 0)
			ext_body(w, type, &d);
		w_close(w);
		if (w->bad && !w->em)
			return;
	}
}

/* ClientHello (RFC 8446 4.1.2) or ServerHello (4.1.3). */
static void hello(struct walk *w, struct umpa_cur *m, int server)
{
	uint16_t v;
	uint8_t b;
	const uint8_t *rnd;
	struct umpa_cur l;
	char label[64];

	if (umpa_cur_be16(m, &v) < 0) {
		w_bad(w, "tls hello cut short");
		return;
	}
	w_u64(w, "tls.handshake.version", v, umpa_vname_find(tls_version_names, v));
	if (umpa_cur_ptr(m, 32, &rnd) < 0) {
		w_bad(w, "tls hello cut short");
		return;
	}
	w_bytes(w, "tls.handshake.random", rnd, 32);
	if (vec(w, m, 1, "tls.handshake.session_id_length", &l) < 0)
		return;
	if (l.len > 32)
		w_bad(w, "tls session id longer than 32 bytes");
	if (l.len && umpa_cur_ptr_at(&l, 0, l.len, &rnd) == 0)
		w_bytes(w, "tls.handshake.session_id", rnd, l.len);
	if (server) {
		if (umpa_cur_be16(m, &v) < 0 || umpa_cur_u8(m, &b) < 0) {
			w_bad(w, "tls server hello cut short");
			return;
		}
		w_u64(w, "tls.handshake.ciphersuite", v, suite_name(v));
		w_u64(w, "tls.handshake.comp_method", b, umpa_vname_find(comp_names, b));
	} else {
		if (vec(w, m, 2, "tls.handshake.cipher_suites_length", &l) < 0)
			return;
		snprintf(label, sizeof(label), "Cipher Suites (%zu suites)", l.len / 2);
		w_open(w, "tls.handshake.ciphersuites", label);
		list16(w, &l, "tls.handshake.ciphersuite", NULL, 1);
		w_close(w);
		if (vec(w, m, 1, "tls.handshake.comp_methods_length", &l) < 0)
			return;
		snprintf(label, sizeof(label), "Compression Methods (%zu method%s)", l.len, l.len == 1 ? "" : "s");
		w_open(w, "tls.handshake.comp_methods", label);
		while (umpa_cur_u8(&l, &b) == 0)
			w_u64(w, "tls.handshake.comp_method", b, umpa_vname_find(comp_names, b));
		w_close(w);
	}
	w->server = server;
	extensions(w, m);
	w->server = 0;
}

/* One certificate's validity bound as ISO 8601 UTC ("2026-12-07T22:13:20Z"). */
static void cert_time(struct walk *w, const char *key, const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		umpa_emit_str(w->em, key, "(unreadable time)");
		return;
	}
	snprintf(w->text, sizeof(w->text), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	umpa_emit_str(w->em, key, w->text);
}

/* Printable copy of an ASN.1 string's bytes (control and non-ASCII bytes as '.'). */
static const char *cert_text(struct walk *w, const ASN1_STRING *a)
{
	struct umpa_cur c;

	umpa_cur_init(&c, ASN1_STRING_get0_data(a), (size_t)ASN1_STRING_length(a));
	return w_text(w, &c);
}

/* The subject alternative names (RFC 5280 4.2.1.6) under Wireshark's x509ce names. */
static void cert_sans(struct walk *w, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;

	if (!gens)
		return;
	snprintf(w->text, sizeof(w->text), "Subject Alternative Names (%d)", n);
	umpa_emit_open(w->em, "x509ce.SubjectAltName", w->text);
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		switch (g->type) {
		case GEN_DNS:
			umpa_emit_str(w->em, "x509ce.dNSName", cert_text(w, g->d.dNSName));
			break;
		case GEN_EMAIL:
			umpa_emit_str(w->em, "x509ce.rfc822Name", cert_text(w, g->d.rfc822Name));
			break;
		case GEN_URI:
			umpa_emit_str(w->em, "x509ce.uniformResourceIdentifier",
				      cert_text(w, g->d.uniformResourceIdentifier));
			break;
		case GEN_IPADD:
			if (ASN1_STRING_length(g->d.iPAddress) == 4)
				umpa_emit_ipv4(w->em, "x509ce.iPAddress", ASN1_STRING_get0_data(g->d.iPAddress));
			else if (ASN1_STRING_length(g->d.iPAddress) == 16)
				umpa_emit_ipv6(w->em, "x509ce.iPAddress", ASN1_STRING_get0_data(g->d.iPAddress));
			break;
		default:
			break;
		}
	}
	umpa_emit_close(w->em);
	GENERAL_NAMES_free(gens);
}

/* The subject public key: its type ("RSA", "EC", "ED25519"...), size in bits and, for EC, the curve. */
static void cert_key(struct walk *w, X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char grp[64];
	size_t glen = 0;
	int id;
	const char *type;

	if (!pk) {
		umpa_emit_str(w->em, "x509af.public_key.type", "(unknown or unreadable key)");
		return;
	}
	id = EVP_PKEY_get_base_id(pk);
	switch (id) {
	case EVP_PKEY_RSA:
		type = "RSA";
		break;
	case EVP_PKEY_RSA_PSS:
		type = "RSA-PSS";
		break;
	case EVP_PKEY_EC:
		type = "EC";
		break;
	case EVP_PKEY_DSA:
		type = "DSA";
		break;
	case EVP_PKEY_ED25519:
		type = "ED25519";
		break;
	case EVP_PKEY_ED448:
		type = "ED448";
		break;
	default:
		type = OBJ_nid2sn(id);
		break;
	}
	snprintf(w->text, sizeof(w->text), "Public Key: %s, %d bits", type ? type : "unknown", EVP_PKEY_get_bits(pk));
	umpa_emit_open(w->em, "x509af.subjectPublicKeyInfo", w->text);
	umpa_emit_str(w->em, "x509af.public_key.type", type ? type : "unknown");
	umpa_emit_u64(w->em, "x509af.public_key.bits", (uint64_t)EVP_PKEY_get_bits(pk), NULL);
	if (id == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), &glen) == 1)
		umpa_emit_str(w->em, "x509af.public_key.curve", grp);
	umpa_emit_close(w->em);
}

/* What one DER certificate says, through OpenSSL (only when showing): serial, signature algorithm, issuer,
 * validity, subject, public key, subject alternative names; in Wireshark's x509af/x509ce names where it has
 * them. */
static void cert_names(struct walk *w, const uint8_t *der, size_t n)
{
	const unsigned char *q = der;
	const ASN1_INTEGER *serial;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid = NULL;
	X509 *x;

	if (!w->em || n > TLS_MAX_CERT)
		return;
	x = d2i_X509(NULL, &q, (long)n);
	if (!x) {
		umpa_emit_str(w->em, "tls.handshake.certificate.error", "not a DER X.509 certificate");
		return;
	}
	/* RFC 2253 order (most specific first), as Wireshark's rdnSequence text reads */
	if (X509_NAME_oneline(X509_get_subject_name(x), w->text, (int)sizeof(w->text))) {
		char label[sizeof(w->text) + 16];
		snprintf(label, sizeof(label), "Certificate: %s", w->text);
		umpa_emit_open(w->em, "tls.handshake.certificate", label);
		umpa_emit_str(w->em, "x509af.subject", w->text);
	} else {
		umpa_emit_open(w->em, "tls.handshake.certificate", "Certificate");
	}
	if (X509_NAME_oneline(X509_get_issuer_name(x), w->text, (int)sizeof(w->text)))
		umpa_emit_str(w->em, "x509af.issuer", w->text);
	serial = X509_get0_serialNumber(x);
	if (serial)
		umpa_emit_bytes(w->em, "x509af.serialNumber", ASN1_STRING_get0_data(serial),
				(size_t)ASN1_STRING_length(serial));
	X509_get0_signature(NULL, &alg, x);
	if (alg)
		X509_ALGOR_get0(&oid, NULL, NULL, alg);
	if (oid && OBJ_obj2txt(w->text, (int)sizeof(w->text), oid, 1) > 0) {
		umpa_emit_str(w->em, "x509af.algorithm.id", w->text);
		/* the name openssl x509 -text prints: sha256WithRSAEncryption, ecdsa-with-SHA256, ED25519 */
		if (OBJ_obj2nid(oid) != NID_undef)
			umpa_emit_str(w->em, "x509af.signature_algorithm", OBJ_nid2ln(OBJ_obj2nid(oid)));
	}
	cert_time(w, "x509af.notBefore", X509_get0_notBefore(x));
	cert_time(w, "x509af.notAfter", X509_get0_notAfter(x));
	cert_key(w, x);
	cert_sans(w, x);
	umpa_emit_close(w->em);
	X509_free(x);
}

/* Certificate (RFC 5246 7.4.2; RFC 8446 4.4.2 adds a request context and per-certificate extensions). */
static void certificate(struct walk *w, struct umpa_cur *m)
{
	struct umpa_cur list, c, ext, ctx;
	uint8_t b0;
	uint32_t l12, l13;
	int tls13 = 0;
	const uint8_t *der;

	/* TLS 1.2: a 3-byte list length filling the message.  TLS 1.3: a context length (1) and context,
	 * then the list length filling the rest.  The 1.2 layout wins when both fit. */
	if (umpa_cur_be24_at(m, 0, &l12) == 0 && l12 != m->len - 3 && umpa_cur_u8_at(m, 0, &b0) == 0 &&
	    umpa_cur_be24_at(m, 1u + b0, &l13) == 0 && l13 == m->len - 4u - b0)
		tls13 = 1;
	if (tls13 && vec(w, m, 1, "tls.handshake.certificate_request_context_length", &ctx) < 0)
		return;
	if (vec(w, m, 3, "tls.handshake.certificates_length", &list) < 0)
		return;
	w_open(w, "tls.handshake.certificates", "Certificates");
	while (umpa_cur_left(&list) > 0) {
		if (vec(w, &list, 3, "tls.handshake.certificate_length", &c) < 0)
			break;
		if (umpa_cur_ptr_at(&c, 0, c.len, &der) == 0)
			cert_names(w, der, c.len);
		if (tls13 && vec(w, &list, 2, "tls.handshake.extensions_length", &ext) < 0)
			break;
	}
	w_close(w);
	if (umpa_cur_left(m))
		w_bad(w, "tls certificate message has trailing bytes");
}

/* ServerKeyExchange for ECDHE (RFC 8422 5.4): curve type 3 (named curve), the group, the point, then the
 * signature with (TLS 1.2) or without its scheme.  Which key exchange a message belongs to is known from the
 * cipher suite; a record seen alone is read as ECDHE only when those lengths tile the message exactly. */
static void server_kx(struct walk *w, struct umpa_cur *m)
{
	uint8_t ctype, plen;
	uint16_t group, a = 0, b = 0;
	const uint8_t *d;
	size_t at;
	int scheme;

	if (umpa_cur_u8_at(m, 0, &ctype) < 0 || ctype != 3 || umpa_cur_be16_at(m, 1, &group) < 0 ||
	    umpa_cur_u8_at(m, 3, &plen) < 0)
		return;
	at = 4u + plen;
	if (umpa_cur_be16_at(m, at + 2, &b) == 0 && at + 4 + b == m->len)
		scheme = 1;
	else if (umpa_cur_be16_at(m, at, &a) == 0 && at + 2 + a == m->len)
		scheme = 0;
	else
		return;
	w_open(w, "tls.handshake.server_params", "EC Diffie-Hellman Server Params");
	w_u64(w, "tls.handshake.server_curve_type", ctype, "named_curve");
	w_u64(w, "tls.handshake.server_named_curve", group, grease_or(group_names, group));
	w_u64(w, "tls.handshake.server_point_len", plen, NULL);
	if (plen && umpa_cur_ptr_at(m, 4, plen, &d) == 0)
		w_bytes(w, "tls.handshake.server_point", d, plen);
	if (scheme) {
		umpa_cur_be16_at(m, at, &a);
		w_u64(w, "tls.handshake.sig_hash_alg", a, grease_or(sigalg_names, a));
		at += 2;
	}
	umpa_cur_be16_at(m, at, &b);
	w_u64(w, "tls.handshake.sig_len", b, NULL);
	if (b && umpa_cur_ptr_at(m, at + 2, b, &d) == 0)
		w_bytes(w, "tls.handshake.sig", d, b);
	w_close(w);
}

/* The body of one handshake message whose bytes are all there. */
static void hs_body(struct walk *w, uint8_t type, struct umpa_cur *m)
{
	uint32_t v32;
	uint16_t v16;
	uint8_t b;
	struct umpa_cur l;

	switch (type) {
	case 1:
		hello(w, m, 0);
		break;
	case 2:
		hello(w, m, 1);
		break;
	case 11:
		certificate(w, m);
		break;
	case 4: /* NewSessionTicket: lifetime hint, then (1.2) the ticket or (1.3) age_add, nonce, ticket, exts */
		if (umpa_cur_be32(m, &v32) < 0)
			break;
		w_u64(w, "tls.handshake.session_ticket_lifetime_hint", v32, NULL);
		if (umpa_cur_be16_at(m, 4, &v16) == 0 && m->len == 6u + v16) { /* TLS 1.2 */
			vec(w, m, 2, "tls.handshake.session_ticket_length", &l);
			break;
		}
		if (umpa_cur_be32(m, &v32) < 0)
			break;
		w_u64(w, "tls.handshake.session_ticket_age_add", v32, NULL);
		if (vec(w, m, 1, "tls.handshake.session_ticket_nonce_length", &l) < 0)
			break;
		vec(w, m, 2, "tls.handshake.session_ticket_length", &l);
		break;
	case 12: /* ServerKeyExchange */
		server_kx(w, m);
		break;
	case 16: /* ClientKeyExchange, (EC)DHE: the client's point */
		if (umpa_cur_u8_at(m, 0, &b) == 0 && b + 1u == m->len) {
			const uint8_t *pt;
			w_open(w, "tls.handshake.client_params", "EC Diffie-Hellman Client Params");
			w_u64(w, "tls.handshake.client_point_len", b, NULL);
			if (b && umpa_cur_ptr_at(m, 1, b, &pt) == 0)
				w_bytes(w, "tls.handshake.client_point", pt, b);
			w_close(w);
		}
		break;
	case 15: /* CertificateVerify (TLS 1.2 and 1.3): signature scheme, signature */
		if (umpa_cur_be16_at(m, 2, &v16) == 0 && m->len == 4u + v16) {
			const uint8_t *sg;
			umpa_cur_be16_at(m, 0, &v16);
			w_u64(w, "tls.handshake.sig_hash_alg", v16, grease_or(sigalg_names, v16));
			umpa_cur_be16_at(m, 2, &v16);
			w_u64(w, "tls.handshake.sig_len", v16, NULL);
			if (v16 && umpa_cur_ptr_at(m, 4, v16, &sg) == 0)
				w_bytes(w, "tls.handshake.sig", sg, v16);
		}
		break;
	case 24: /* KeyUpdate */
		if (umpa_cur_u8(m, &b) == 0)
			w_u64(w, "tls.handshake.key_update.request_update", b,
			      b == 0   ? "update_not_requested"
			      : b == 1 ? "update_requested"
				       : NULL);
		break;
	default:
		break;
	}
}

/** What walking a handshake record found. */
struct hs_scan {
	unsigned nmsgs;
	int plain; /* the messages tile the record (the last may continue in the next record) */
	int frag;  /* the last message continues in the next record */
};

/* Do the bytes look like plaintext handshake messages?  Every type known, each length inside the record
 * (the last may run past it: a fragment), no HelloRequest but alone and empty.  Fills *s. */
static void hs_scan(struct umpa_cur *c, struct hs_scan *s, int made)
{
	size_t pos = 0;
	uint8_t t;
	uint32_t len;

	s->nmsgs = 0;
	s->plain = 0;
	s->frag = 0;
	while (pos < c->len) {
		if (umpa_cur_u8_at(c, pos, &t) < 0 || !hs_type_find(t))
			return;
		if (umpa_cur_be24_at(c, pos + 1, &len) < 0) {
			/* a message header cut by the record end: not plausible, unless the record is known to be
			 * plaintext (decrypted) */
			if (made && s->nmsgs > 0)
				s->frag = s->plain = 1;
			return;
		}
		if (t == 0 && (len != 0 || c->len != 4))
			return;
		s->nmsgs++;
		if (len > c->len - pos - 4) {
			/* a message continued in the next record fills a record of some size (512 bytes is
			 * the smallest record_size_limit); random bytes of an encrypted Finished are short */
			if ((!made && c->len < 512) || len > (1u << 18))
				return;
			s->frag = 1;
			s->plain = 1;
			return;
		}
		pos += 4 + len;
	}
	s->plain = s->nmsgs > 0;
}

/* Walk the content of a complete record (everything after the 5-byte header). */
static void content(struct walk *w, uint8_t ct, struct umpa_cur *c, uint32_t aux)
{
	const uint8_t *b;
	char label[96];

	switch (ct) {
	case CT_HANDSHAKE: {
		struct hs_scan s;
		hs_scan(c, &s, w->made);
		if (!s.plain) {
			/* a label (Wireshark's tls.handshake item has no value here) */
			w_open(w, "tls.handshake", "Encrypted Handshake Message");
			w_close(w);
			return;
		}
		while (umpa_cur_left(c) >= 4) {
			uint8_t t = 0;
			uint32_t len = 0;
			struct umpa_cur m;
			const struct hs_type *ht;
			umpa_cur_u8(c, &t);
			umpa_cur_be24(c, &len);
			ht = hs_type_find(t);
			snprintf(label, sizeof(label), "Handshake Protocol: %s%s", ht ? ht->ws : "Unknown",
				 len > umpa_cur_left(c) ? " (fragment)" : "");
			w_open(w, "tls.handshake", label);
			if (len <=
			    umpa_cur_left(c)) { /* a fragment's type and length are shown where it is reassembled */
				w_u64(w, "tls.handshake.type", t, ht ? ht->ws : NULL);
				w_u64(w, "tls.handshake.length", len, NULL);
			}
			if (len <= umpa_cur_left(c)) {
				umpa_cur_sub(c, c->pos, len, &m);
				c->pos += len;
				hs_body(w, t, &m);
			} else {
				c->pos = c->len; /* continues in the next record */
			}
			w_close(w);
		}
		return;
	}
	case CT_ALERT:
		if (c->len != 2) {
			w_open(w, "tls.alert_message", "Encrypted Alert");
			w_close(w);
			return;
		}
		if (w->em) {
			uint8_t lv = 0, ds = 0;
			const char *ln, *dn;
			umpa_cur_u8_at(c, 0, &lv);
			umpa_cur_u8_at(c, 1, &ds);
			ln = umpa_vname_find(alert_levels, lv);
			dn = umpa_vname_find(alert_descs, ds);
			snprintf(label, sizeof(label), "Alert Message: %s, %s", ln ? ln : "Unknown",
				 dn ? dn : "Unknown");
			umpa_emit_open(w->em, "tls.alert_message", label);
			umpa_emit_u64(w->em, "tls.alert_message.level", lv, ln);
			umpa_emit_u64(w->em, "tls.alert_message.desc", ds, dn);
			umpa_emit_close(w->em);
		}
		return;
	case CT_CCS:
		if (w->em)
			umpa_emit_str(w->em, "tls.change_cipher_spec", "");
		return;
	case CT_APPDATA:
		if (c->len && umpa_cur_ptr_at(c, 0, c->len, &b) == 0)
			w_bytes(w, "tls.app_data", b, c->len);
		return;
	case CT_HEARTBEAT:
		if (c->len >= 3 && w->em && !(aux & TLS_A_ENCRYPTED)) {
			uint16_t pl = 0;
			uint8_t ht = 0;
			umpa_cur_u8_at(c, 0, &ht);
			umpa_cur_be16_at(c, 1, &pl);
			umpa_emit_u64(w->em, "tls.heartbeat_message.type", ht,
				      ht == 1   ? "Request"
				      : ht == 2 ? "Response"
						: NULL);
			umpa_emit_u64(w->em, "tls.heartbeat_message.payload_length", pl, NULL);
		}
		return;
	default:
		return;
	}
}

/* ---- dissect ---- */

/* True when layer li rides on TCP (directly or after other tls records). */
static int over_tcp(const struct umpa_pkt *p, unsigned li)
{
	while (li > 0 && p->l[li - 1].proto == &umpa_proto_tls)
		li--;
	return li > 0 && p->l[li - 1].proto == &umpa_proto_tcp;
}

static const struct umpa_proto *tls_dissect(struct umpa_pkt *p, unsigned li)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_cur c, body;
	uint8_t ct;
	uint16_t ver, len;
	uint32_t end;

	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &ct) < 0 || umpa_cur_be16_at(&c, 1, &ver) < 0 || umpa_cur_be16_at(&c, 3, &len) < 0)
		return NULL; /* core checked the 5 header bytes */
	if (!(ct >= CT_CCS && ct <= CT_HEARTBEAT && (ver >> 8) == 3 && (ver & 0xff) <= 4)) {
		l->aux |= TLS_A_IGNORED; /* not a record: Wireshark's "Ignored Unknown Record" */
		l->hlen = l->len;
		return NULL;
	}
	end = TLS_HDR + (uint32_t)len;
	if (len > TLS_MAX_RECORD && p->linktype != UMPA_LINKTYPE_TLS_MADE_) {
		l->flags |= UMPA_L_INVALID;
		l->why = "tls record length above 2^14+2048";
	}
	if (end > l->len) {
		l->hlen = l->len;
		if (l->off + l->len >= p->len && p->len < p->wirelen)
			umpa_layer_short(p, li, "tls record not captured whole");
		else if (over_tcp(p, li) && !(l->flags & UMPA_L_QUOTED))
			l->aux |= TLS_A_PARTIAL; /* continues in later segments */
		else if (!(l->flags & UMPA_L_QUOTED))
			umpa_layer_short(p, li, "tls record length beyond the data");
		return NULL;
	}
	l->hlen = end;
	if (!(l->flags & UMPA_L_INVALID) && umpa_cur_sub(&c, TLS_HDR, len, &body) == 0) {
		struct walk w = {.made = p->linktype == UMPA_LINKTYPE_TLS_MADE_};
		if (ct == CT_HANDSHAKE) {
			struct hs_scan s;
			hs_scan(&body, &s, p->linktype == UMPA_LINKTYPE_TLS_MADE_);
			if (!s.plain)
				l->aux |= TLS_A_ENCRYPTED;
			if (s.frag)
				l->aux |= TLS_A_HSFRAG;
			if (s.plain)
				content(&w, ct, &body, l->aux);
		} else if (ct == CT_ALERT && len != 2) {
			l->aux |= TLS_A_ENCRYPTED;
		} else if (ct == CT_HEARTBEAT && len >= 3) {
			uint16_t pl = 0;
			uint8_t ht = 0;
			umpa_cur_be16_at(&body, 1, &pl);
			umpa_cur_u8_at(&body, 0, &ht);
			if (ht < 1 || ht > 2 || 3u + pl > len)
				l->aux |= TLS_A_ENCRYPTED;
		}
		if (w.bad) {
			l->flags |= UMPA_L_INVALID;
			l->why = w.bad;
		}
	}
	return l->len > end ? &umpa_proto_tls : NULL;
}

/* ---- show ---- */

static void tls_details(const struct umpa_pkt *p, unsigned li, struct umpa_emit *em)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c, body;
	struct walk w = {.made = p->linktype == UMPA_LINKTYPE_TLS_MADE_};
	uint8_t ct;

	uint16_t ver, len;

	if (l->aux & TLS_A_IGNORED) {
		umpa_emit_open(em, "tls.ignored_unknown_record", "Ignored Unknown Record");
		umpa_emit_close(em);
		return;
	}
	if (l->aux & TLS_A_PARTIAL)
		return; /* the summary says "[TLS segment of a reassembled PDU]"; Wireshark shows no record */
	umpa_layer_cur(p, li, &c);
	if (l->hlen < TLS_HDR || umpa_cur_u8_at(&c, 0, &ct) < 0 || umpa_cur_be16_at(&c, 1, &ver) < 0 ||
	    umpa_cur_be16_at(&c, 3, &len) < 0)
		return;
	/* The header fields are hidden in the table so that they come here, in Wireshark's order, and the
	 * content type of a TLS 1.3 application data record under Wireshark's name for it. */
	umpa_emit_u64(em,
		      (l->aux & TLS_A_TLS13) && ct == CT_APPDATA ? "tls.record.opaque_type" : "tls.record.content_type",
		      ct, umpa_vname_find(tls_ct_names, ct));
	umpa_emit_u64(em, "tls.record.version", ver, umpa_vname_find(tls_version_names, ver));
	umpa_emit_u64(em, "tls.record.length", len, NULL);
	if (umpa_cur_sub(&c, TLS_HDR, l->hlen - TLS_HDR, &body) < 0)
		return;
	if (l->aux & TLS_A_HSCONT) {
		const struct hs_type *ht = hs_type_find((uint8_t)(l->aux >> 16));
		char label[96];
		snprintf(label, sizeof(label), "Handshake Protocol: %s (%s)", ht ? ht->ws : "Unknown",
			 l->aux & TLS_A_HSLAST ? "last fragment" : "fragment");
		umpa_emit_open(em, "tls.handshake", label);
		umpa_emit_close(em);
		return;
	}
	w.em = em;
	content(&w, ct, &body, l->aux);
}

/* Wireshark's Info text for one record. */
static void record_text(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c, body;
	uint8_t ct = 0;

	umpa_layer_cur(p, li, &c);
	umpa_cur_u8_at(&c, 0, &ct);
	if (l->aux & TLS_A_IGNORED) {
		umpa_sbuf_puts(out, "Ignored Unknown Record");
		return;
	}
	if (l->aux & TLS_A_PARTIAL) {
		umpa_sbuf_puts(out, "[TLS segment of a reassembled PDU]");
		return;
	}
	switch (ct) {
	case CT_CCS:
		umpa_sbuf_puts(out, "Change Cipher Spec");
		return;
	case CT_APPDATA:
		umpa_sbuf_puts(out, "Application Data");
		return;
	case CT_HEARTBEAT:
		umpa_sbuf_puts(out, l->aux & TLS_A_ENCRYPTED ? "Encrypted Heartbeat" : "Heartbeat");
		return;
	case CT_ALERT:
		if (l->aux & TLS_A_ENCRYPTED || l->hlen != TLS_HDR + 2) {
			umpa_sbuf_puts(out, "Encrypted Alert");
		} else {
			uint8_t lv = 0, ds = 0;
			const char *ln, *dn;
			umpa_cur_u8_at(&c, TLS_HDR, &lv);
			umpa_cur_u8_at(&c, TLS_HDR + 1, &ds);
			ln = umpa_vname_find(alert_levels, lv);
			dn = umpa_vname_find(alert_descs, ds);
			umpa_sbuf_puts(out, "Alert (Level: ");
			umpa_sbuf_puts(out, ln ? ln : "Unknown");
			umpa_sbuf_puts(out, ", Description: ");
			umpa_sbuf_puts(out, dn ? dn : "Unknown");
			umpa_sbuf_putc(out, ')');
		}
		return;
	case CT_HANDSHAKE:
		break;
	default:
		return;
	}
	if (l->aux & TLS_A_HSCONT) { /* Wireshark: "[Certificate Fragment]", then "Certificate" where it ends */
		const struct hs_type *ht = hs_type_find((uint8_t)(l->aux >> 16));
		if (!(l->aux & TLS_A_HSLAST))
			umpa_sbuf_putc(out, '[');
		umpa_sbuf_puts(out, ht ? ht->ws : "Unknown Handshake Message");
		if (!(l->aux & TLS_A_HSLAST))
			umpa_sbuf_puts(out, " Fragment]");
		return;
	}
	if (l->aux & TLS_A_ENCRYPTED || umpa_cur_sub(&c, TLS_HDR, l->hlen - TLS_HDR, &body) < 0) {
		umpa_sbuf_puts(out, "Encrypted Handshake Message");
		return;
	}
	for (size_t pos = 0, n = 0; umpa_cur_has(&body, pos, 4); n++) {
		uint8_t t = 0;
		uint32_t len = 0;
		const struct hs_type *ht;
		umpa_cur_u8_at(&body, pos, &t);
		umpa_cur_be24_at(&body, pos + 1, &len);
		ht = hs_type_find(t);
		if (n)
			umpa_sbuf_puts(out, ", ");
		if (len > body.len - pos - 4) { /* continues in the next record */
			umpa_sbuf_putc(out, '[');
			umpa_sbuf_puts(out, ht ? ht->ws : "Unknown Handshake Message");
			umpa_sbuf_puts(out, " Fragment]");
			break;
		}
		umpa_sbuf_puts(out, ht ? ht->ws : "Unknown Handshake Message");
		pos += 4 + len;
	}
}

/* " TLSv1.2 Client Hello" for the first record of a packet, ", Certificate" for the next ones. */
static void tls_summary(const struct umpa_pkt *p, unsigned li, struct umpa_sbuf *out)
{
	uint16_t ver = 0;

	if (li > 0 && p->l[li - 1].proto == &umpa_proto_tls) {
		umpa_sbuf_puts(out, ", ");
	} else {
		struct umpa_cur c;
		umpa_layer_cur(p, li, &c);
		umpa_cur_be16_at(&c, 1, &ver);
		umpa_sbuf_putc(out, ' ');
		/* the connection's version when reassembly knows it (a TLS 1.3 connection's records all say
		 * 0x0303; tshark labels them TLSv1.3 from the ServerHello's supported_versions) */
		umpa_sbuf_puts(out, (p->l[li].aux & TLS_A_IGNORED) ? "TLS"
				    : (p->l[li].aux & TLS_A_TLS13) ? "TLSv1.3"
								   : version_label(ver));
		umpa_sbuf_putc(out, ' ');
	}
	record_text(p, li, out);
}

/* ---- build ---- */

static int tls_finish(struct umpa_pkt *p, unsigned li, struct umpa_err *e)
{
	const struct umpa_layer *l = &p->l[li];
	uint32_t end = l->off + l->len;
	uint64_t ct = CT_HANDSHAKE;

	(void)e;
	for (unsigned k = li + 1; k < p->nlayers; k++)
		if (p->l[k].proto == &umpa_proto_tls) {
			end = p->l[k].off;
			break;
		}
	if (end >= l->off + TLS_HDR && end - l->off - TLS_HDR <= 0xffff)
		umpa_field_auto_u64(p, li, &tls_fields[F_LEN], end - l->off - TLS_HDR);
	if (l->aux & TLS_A_CT_ALERT)
		ct = CT_ALERT;
	umpa_field_auto_u64(p, li, &tls_fields[F_CT], ct);
	return 0;
}

/* Append the hex text [s, s+n) (optional 0x, ':' and spaces ignored) to buf; returns 0 or -1. */
static int put_hex(struct umpa_sbuf *buf, const char *s, size_t n)
{
	struct umpa_span a = {s, n};
	long k = umpa_spec_hex(a, NULL, SIZE_MAX);

	if (k < 0 || (buf->cap - buf->len <= (size_t)k && umpa_sbuf_grow(buf, (size_t)k) < 0))
		return -1;
	umpa_spec_hex(a, (uint8_t *)buf->s + buf->len, (size_t)k);
	buf->len += (size_t)k;
	buf->s[buf->len] = 0;
	return 0;
}

/* A number (decimal or 0x hex) or a name from one of two tables; returns 0 or -1. */
static int spec_value(const char *s, size_t n, const struct umpa_vname *t1, const struct umpa_vname *t2, uint64_t max,
		      uint64_t *v)
{
	char tmp[64];
	struct umpa_span a = umpa_span_trim((struct umpa_span){s, n});

	if (umpa_span_cstr(a, tmp, sizeof(tmp)) < 0 || a.n == 0)
		return -1;
	if (tmp[0] >= '0' && tmp[0] <= '9')
		return umpa_spec_num(a, max, v);
	if (umpa_vname_value(t1, tmp, v) == 0 || (t2 && umpa_vname_value(t2, tmp, v) == 0))
		return 0;
	return -1;
}

static int hs_spec_type(const char *s, size_t n, uint64_t *v)
{
	for (size_t i = 0; i < sizeof(hs_types) / sizeof(hs_types[0]); i++)
		if (strlen(hs_types[i].spec) == n && strncasecmp(hs_types[i].spec, s, n) == 0) {
			*v = hs_types[i].v;
			return 0;
		}
	return spec_value(s, n, NULL, NULL, 255, v);
}

static int tls_set_var(struct umpa_pkt *p, unsigned li, const struct umpa_field *f, const char *spec,
		       struct umpa_err *e)
{
	struct umpa_layer *l = &p->l[li];
	struct umpa_sbuf buf = {0};
	const char *s = spec ? spec : "";
	int r;

	if (l->hlen < TLS_HDR)
		return umpa_err_set(e, UMPA_EINVAL, "tls: header incomplete, cannot set the content");
	if (f == &tls_fields[F_HS]) {
		struct umpa_span rest = umpa_span_of(s), key, val;
		int eq;
		while (umpa_spec_item(&rest, &key, &val, &eq)) {
			/* the whole item, for messages */
			const char *item = key.s;
			int n = (int)((eq ? val.s + val.n : key.s + key.n) - key.s);
			size_t at;
			uint64_t t;
			if (hs_spec_type(key.s, key.n, &t) < 0) {
				umpa_sbuf_free(&buf);
				return umpa_err_set(
				    e, UMPA_EINVAL,
				    "tls handshake: bad message type in '%.*s' (expected a name such as "
				    "client_hello or finished, or a number)",
				    n, item);
			}
			at = buf.len;
			umpa_sbuf_put(&buf, "\0\0\0\0", 4);
			if (eq && put_hex(&buf, val.s, val.n) < 0) {
				umpa_sbuf_free(&buf);
				return umpa_err_set(e, UMPA_EINVAL, "tls handshake: bad hex body in '%.*s'", n, item);
			}
			if (buf.oom) {
				umpa_sbuf_free(&buf);
				return umpa_err_set(e, UMPA_ENOMEM, "tls handshake: out of memory");
			}
			{
				size_t bl = buf.len - at - 4;
				if (bl > 0xffffff) {
					umpa_sbuf_free(&buf);
					return umpa_err_set(e, UMPA_ERANGE, "tls handshake: message longer than 2^24");
				}
				buf.s[at] = (char)t;
				buf.s[at + 1] = (char)(bl >> 16);
				buf.s[at + 2] = (char)(bl >> 8);
				buf.s[at + 3] = (char)bl;
			}
		}
		l->aux = (l->aux & ~(uint32_t)TLS_A_CT_ALERT) | TLS_A_CT_HS;
	} else if (f == &tls_fields[F_ALERT]) {
		struct umpa_span level, desc;
		uint64_t lv, ds;
		char b[2];
		if (!umpa_span_cut(umpa_span_of(s), ":", &level, &desc) ||
		    spec_value(level.s, level.n, alert_level_spec, alert_levels, 255, &lv) < 0 ||
		    spec_value(desc.s, desc.n, alert_spec, alert_descs, 255, &ds) < 0)
			return umpa_err_set(e, UMPA_EINVAL,
					    "tls alert: bad spec '%s' (expected LEVEL:DESCRIPTION, e.g. "
					    "fatal:handshake_failure or 2:40)",
					    s);
		b[0] = (char)lv;
		b[1] = (char)ds;
		umpa_sbuf_put(&buf, b, 2);
		l->aux = (l->aux & ~(uint32_t)TLS_A_CT_HS) | TLS_A_CT_ALERT;
	} else if (f == &tls_fields[F_DATA]) {
		if (put_hex(&buf, s, strlen(s)) < 0) {
			umpa_sbuf_free(&buf);
			return umpa_err_set(e, UMPA_EINVAL, "tls data: bad hex bytes '%s'", s);
		}
	} else {
		return umpa_err_set(e, UMPA_EINVAL, "tls: %s is not a variable field", f ? f->name : "?");
	}
	if (buf.oom) {
		umpa_sbuf_free(&buf);
		return umpa_err_set(e, UMPA_ENOMEM, "tls: out of memory");
	}
	if (buf.len > 0xffff) {
		umpa_sbuf_free(&buf);
		return umpa_err_set(e, UMPA_ERANGE, "tls: record content longer than 65535 bytes");
	}
	r = umpa_pkt_splice(p, li, TLS_HDR, l->hlen - TLS_HDR, buf.s, (uint32_t)buf.len, e);
	umpa_sbuf_free(&buf);
	return r;
}

const struct umpa_proto umpa_proto_tls = {
    .name = "tls",
    .aliases = "ssl",
    .title = "Transport Layer Security",
    .fields = tls_fields,
    .nfields = F_COUNT,
    .hdr_len = TLS_HDR,
    .dissect = tls_dissect,
    .finish = tls_finish,
    .set_var = tls_set_var,
    .details = tls_details,
    .summary = tls_summary,
};

/* ---- for tcp_reasm.c (declared in umpa_reasm.h) ---- */

int umpa_tls_selects_tls13_(const struct umpa_pkt *p, unsigned li)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c, m, ext, d;
	uint8_t ct, t, b;
	uint16_t type, v;
	size_t pos;

	if (l->proto != &umpa_proto_tls || l->aux & (TLS_A_IGNORED | TLS_A_PARTIAL | TLS_A_ENCRYPTED))
		return 0;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &ct) < 0 || ct != CT_HANDSHAKE)
		return 0;
	/* walk to a ServerHello, then its extensions, for supported_versions = 0x0304 */
	for (pos = TLS_HDR; pos + 4 <= l->hlen;) {
		uint32_t len;
		if (umpa_cur_u8_at(&c, pos, &t) < 0 || umpa_cur_be24_at(&c, pos + 1, &len) < 0)
			return 0;
		if (umpa_cur_sub(&c, pos + 4, len, &m) < 0)
			return 0;
		pos += 4 + len;
		if (t != 2)
			continue;
		/* version, random, session id, suite, compression */
		if (umpa_cur_u8_at(&m, 34, &b) < 0 || umpa_cur_be16_at(&m, 38u + b, &v) < 0)
			return 0;
		if (umpa_cur_sub(&m, 40u + b, v, &ext) < 0)
			return 0;
		while (umpa_cur_be16(&ext, &type) == 0 && umpa_cur_be16(&ext, &v) == 0) {
			if (umpa_cur_sub(&ext, ext.pos, v, &d) < 0)
				return 0;
			ext.pos += v;
			if (type == 43 && umpa_cur_be16_at(&d, 0, &v) == 0)
				return v == 0x0304;
		}
		return 0;
	}
	return 0;
}

int umpa_tls_hs_frag_(const struct umpa_pkt *p, unsigned li, uint32_t *start)
{
	const struct umpa_layer *l = &p->l[li];
	struct umpa_cur c;
	uint32_t pos = TLS_HDR, len;
	uint8_t ct;

	if (l->proto != &umpa_proto_tls || !(l->aux & TLS_A_HSFRAG) || (l->aux & TLS_A_HSCONT))
		return 0;
	umpa_layer_cur(p, li, &c);
	if (umpa_cur_u8_at(&c, 0, &ct) < 0 || ct != CT_HANDSHAKE)
		return 0;
	while (umpa_cur_be24_at(&c, pos + 1, &len) == 0 && pos + 4 + len <= l->hlen)
		pos += 4 + len;
	if (pos + 4 > l->hlen)
		return 0;
	*start = pos;
	return 1;
}

void umpa_tls_mark_hs_cont_(struct umpa_pkt *p, unsigned li, uint8_t type, int last)
{
	if (p->l[li].proto != &umpa_proto_tls)
		return;
	p->l[li].aux &= ~(uint32_t)(TLS_A_ENCRYPTED | 0xff0000u);
	p->l[li].aux |= TLS_A_HSCONT | (last ? TLS_A_HSLAST : 0) | (uint32_t)type << 16;
}

int umpa_tls_record_partial_(const struct umpa_pkt *p, unsigned li)
{
	return p->l[li].proto != &umpa_proto_tls ||
	       (p->l[li].aux & (TLS_A_PARTIAL | TLS_A_IGNORED | TLS_A_HSCONT)) != 0;
}

void umpa_tls_mark_tls13_(struct umpa_pkt *p, unsigned li)
{
	if (p->l[li].proto == &umpa_proto_tls)
		p->l[li].aux |= TLS_A_TLS13;
}

const char *umpa_tls_suite_name_(uint16_t v)
{
	return suite_name(v);
}

const char *umpa_tls_alert_name(unsigned desc)
{
	return umpa_vname_find(alert_spec, desc);
}
