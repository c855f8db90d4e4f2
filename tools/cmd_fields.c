/* cmd_fields.c - umpa fields: what can be built, read from the protocol tables.
 *
 *   umpa fields            every protocol and every field
 *   umpa fields PROTO...   the named protocols (names, aliases and Scapy's class names alike)
 *   umpa fields --list     protocol names only, one a line (for shell completion)
 *   umpa fields --json     the same as JSON: one array of protocol objects
 *
 * Everything printed comes from the one description of each protocol
 * (core/umpa_proto.h): its names, its title, its header length, and for each
 * field its names (short, Wireshark, aliases), bit offset and width, type,
 * default, whether finish() computes it (automatic), its value names or flag
 * letters, and its help line, which for options and records (UMPA_FT_VAR)
 * states their text syntax.  An unknown protocol is a usage error naming the
 * nearest known name.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "umpa_near.h"
#include "umpa_protos.h"
#include "umpa_sbuf.h"
#include "umpa_tool.h"

static const char fields_usage[] = "usage: umpa fields [--json] [--list] [PROTO...]\n"
				   "\n"
				   "Protocols and their fields, as packet expressions and umpa show name them:\n"
				   "type, bits, default, 'auto' for fields umpa computes unless you set them\n"
				   "(lengths, checksums, next-protocol numbers), value names and flag letters,\n"
				   "and the text syntax of options and records (IP/TCP options, DNS records,\n"
				   "IPv6 extension headers).  PROTO is a name, an alias or Scapy's class name\n"
				   "(ip, ipv4, IP).\n"
				   "\n"
				   "  --json     one JSON array of protocol objects\n"
				   "  --list     protocol names only, one a line\n"
				   "  -h, --help this text\n";

static const char *const type_names[] = {
    [UMPA_FT_UINT] = "uint", [UMPA_FT_ENUM] = "enum",   [UMPA_FT_FLAGS] = "flags",
    [UMPA_FT_BOOL] = "bool", [UMPA_FT_MAC] = "mac",     [UMPA_FT_IPV4] = "ipv4",
    [UMPA_FT_IPV6] = "ipv6", [UMPA_FT_BYTES] = "bytes", [UMPA_FT_VAR] = "var",
};

static const char *type_name(const struct umpa_field *f)
{
	return f->type < sizeof type_names / sizeof type_names[0] ? type_names[f->type] : "?";
}

/* The default value of @f as text: what a freshly built layer holds. */
static void put_default(const struct umpa_field *f, struct umpa_sbuf *b)
{
	static const uint8_t zeros[16];
	const uint8_t *d = f->defp ? f->defp : zeros;
	const char *nm;

	switch (f->type) {
	case UMPA_FT_UINT:
	case UMPA_FT_ENUM:
		if (f->flags & UMPA_F_HEX)
			umpa_sbuf_put_hex(b, f->def, (f->bits + 3) / 4);
		else
			umpa_sbuf_put_u64(b, f->def);
		if (f->type == UMPA_FT_ENUM && (nm = umpa_vname_find(f->names, f->def)) != NULL)
			umpa_sbuf_printf(b, " (%s)", nm);
		break;
	case UMPA_FT_FLAGS:
		umpa_sbuf_put_hex(b, f->def, (f->bits + 3) / 4);
		if (f->letters && f->def) {
			umpa_sbuf_puts(b, " (");
			for (unsigned i = 0; f->letters[i]; i++)
				if (f->def >> i & 1)
					umpa_sbuf_putc(b, f->letters[i]);
			umpa_sbuf_putc(b, ')');
		}
		break;
	case UMPA_FT_BOOL:
		umpa_sbuf_puts(b, f->def ? "true" : "false");
		break;
	case UMPA_FT_MAC:
		umpa_sbuf_put_mac(b, d);
		break;
	case UMPA_FT_IPV4:
		umpa_sbuf_put_ipv4(b, d);
		break;
	case UMPA_FT_IPV6:
		umpa_sbuf_put_ipv6(b, d);
		break;
	case UMPA_FT_BYTES:
		if (f->defp)
			umpa_sbuf_put_hexbytes(b, f->defp, f->bits / 8, ':');
		else
			umpa_sbuf_printf(b, "%u zero bytes", f->bits / 8);
		break;
	case UMPA_FT_VAR:
		umpa_sbuf_puts(b, "none");
		break;
	}
}

/* A comma-separated list as a JSON array of strings. */
static void json_list(struct umpa_sbuf *b, const char *list)
{
	int first = 1;

	umpa_sbuf_putc(b, '[');
	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t k = end ? (size_t)(end - list) : strlen(list);
		if (!first)
			umpa_sbuf_putc(b, ',');
		first = 0;
		umpa_sbuf_put_json_str(b, list, k);
		list = end ? end + 1 : NULL;
	}
	umpa_sbuf_putc(b, ']');
}

static void json_key(struct umpa_sbuf *b, const char *k, const char *v)
{
	umpa_sbuf_printf(b, ",\"%s\":", k);
	if (v)
		umpa_sbuf_put_json_str(b, v, strlen(v));
	else
		umpa_sbuf_puts(b, "null");
}

static void json_proto(const struct umpa_proto *pr, struct umpa_sbuf *b)
{
	struct umpa_sbuf d = {0};

	umpa_sbuf_puts(b, "{\"name\":");
	umpa_sbuf_put_json_str(b, pr->name, strlen(pr->name));
	umpa_sbuf_puts(b, ",\"aliases\":");
	json_list(b, pr->aliases);
	json_key(b, "title", pr->title);
	umpa_sbuf_printf(b, ",\"hdr_len\":%u,\"fields\":[", pr->hdr_len);
	for (unsigned i = 0; i < pr->nfields; i++) {
		const struct umpa_field *f = &pr->fields[i];
		if (i)
			umpa_sbuf_putc(b, ',');
		umpa_sbuf_puts(b, "{\"name\":");
		umpa_sbuf_put_json_str(b, f->name, strlen(f->name));
		json_key(b, "wireshark", f->ws);
		umpa_sbuf_puts(b, ",\"aliases\":");
		json_list(b, f->aliases);
		json_key(b, "type", type_name(f));
		umpa_sbuf_printf(b, ",\"bitoff\":%u,\"bits\":%u", f->bitoff, f->bits);
		umpa_sbuf_reset(&d);
		put_default(f, &d);
		json_key(b, "default", d.s ? d.s : "");
		if (f->type < UMPA_FT_MAC)
			umpa_sbuf_printf(b, ",\"default_value\":%llu", (unsigned long long)f->def);
		umpa_sbuf_printf(b, ",\"auto\":%s,\"hex\":%s,\"hidden\":%s", f->flags & UMPA_F_AUTO ? "true" : "false",
				 f->flags & UMPA_F_HEX ? "true" : "false", f->flags & UMPA_F_HIDDEN ? "true" : "false");
		if (f->names) {
			umpa_sbuf_puts(b, ",\"values\":[");
			for (const struct umpa_vname *v = f->names; v->name; v++) {
				if (v != f->names)
					umpa_sbuf_putc(b, ',');
				umpa_sbuf_puts(b, "{\"name\":");
				umpa_sbuf_put_json_str(b, v->name, strlen(v->name));
				umpa_sbuf_printf(b, ",\"value\":%llu}", (unsigned long long)v->v);
			}
			umpa_sbuf_putc(b, ']');
		}
		if (f->letters)
			json_key(b, "letters", f->letters);
		json_key(b, "help", f->help);
		umpa_sbuf_putc(b, '}');
	}
	umpa_sbuf_puts(b, "]}");
	umpa_sbuf_free(&d);
}

/* Wrap @text into lines of at most @width columns after @indent, breaking at blanks only. */
static void put_wrapped(struct umpa_sbuf *b, const char *text, const char *indent, size_t width)
{
	size_t col = 0;

	while (*text) {
		size_t w = strcspn(text, " ");
		if (col && col + 1 + w > width) {
			umpa_sbuf_putc(b, '\n');
			col = 0;
		}
		if (col == 0) {
			umpa_sbuf_puts(b, indent);
		} else {
			umpa_sbuf_putc(b, ' ');
			col++;
		}
		umpa_sbuf_put(b, text, w);
		col += w;
		text += w;
		while (*text == ' ')
			text++;
	}
	if (col)
		umpa_sbuf_putc(b, '\n');
}

/* A comma-separated list with a blank after each comma. */
static void put_list(struct umpa_sbuf *b, const char *list)
{
	for (; *list; list++) {
		umpa_sbuf_putc(b, *list);
		if (*list == ',')
			umpa_sbuf_putc(b, ' ');
	}
}

static void text_proto(const struct umpa_proto *pr, struct umpa_sbuf *b)
{
	struct umpa_sbuf d = {0};

	umpa_sbuf_printf(b, "%s - %s", pr->name, pr->title ? pr->title : "");
	if (pr->aliases) {
		umpa_sbuf_puts(b, " (also: ");
		put_list(b, pr->aliases);
		umpa_sbuf_putc(b, ')');
	}
	umpa_sbuf_printf(b, "\n  header %u bytes; constructor %s{field=value, ...}\n", pr->hdr_len, pr->name);
	for (unsigned i = 0; i < pr->nfields; i++) {
		const struct umpa_field *f = &pr->fields[i];
		umpa_sbuf_reset(&d);
		put_default(f, &d);
		umpa_sbuf_printf(b, "  %-22s %-6s", f->name, type_name(f));
		if (f->bits && f->type != UMPA_FT_VAR)
			umpa_sbuf_printf(b, " %3u bit%s", f->bits, f->bits == 1 ? " " : "s");
		else
			umpa_sbuf_puts(b, " variable");
		umpa_sbuf_printf(b, "  default %s%s\n", d.s ? d.s : "", f->flags & UMPA_F_AUTO ? ", auto" : "");
		if (f->ws || f->aliases) {
			umpa_sbuf_puts(b, "      names:");
			if (f->ws)
				umpa_sbuf_printf(b, " %s", f->ws);
			if (f->aliases) {
				umpa_sbuf_puts(b, f->ws ? ", " : " ");
				put_list(b, f->aliases);
			}
			umpa_sbuf_putc(b, '\n');
		}
		if (f->help)
			put_wrapped(b, f->help, "      ", 78);
		if (f->names) {
			/* "name=value" items, wrapped between items only (names may hold blanks: "DTLS 1.0") */
			size_t col = 0;
			umpa_sbuf_puts(b, "      ");
			umpa_sbuf_puts(b, f->type == UMPA_FT_FLAGS ? "flag names:" : "values:");
			col = 6 + (f->type == UMPA_FT_FLAGS ? 11 : 7);
			for (const struct umpa_vname *n = f->names; n->name; n++) {
				char item[160];
				int k = snprintf(item, sizeof item, "%s=%llu%s", n->name, (unsigned long long)n->v,
						 n[1].name ? "," : "");
				if (k < 0)
					continue;
				if (col + 1 + (size_t)k > 78) {
					umpa_sbuf_puts(b, "\n      ");
					col = 6;
				} else {
					umpa_sbuf_putc(b, ' ');
					col++;
				}
				umpa_sbuf_puts(b, item);
				col += (size_t)k;
			}
			umpa_sbuf_putc(b, '\n');
		}
		if (f->letters)
			umpa_sbuf_printf(b, "      flag letters (least significant bit first): %s\n", f->letters);
	}
	umpa_sbuf_free(&d);
}

int cmd_fields(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'}, {"list", no_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}, {0}};
	const struct umpa_proto *const *all, *sel[64];
	size_t nall, nsel = 0;
	struct umpa_sbuf out = {0};
	int json = 0, list = 0, c, rc = UMPA_EXIT_OK;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'h':
			fputs(fields_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("fields: unknown option '%s' (try 'umpa fields --help')", argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	all = umpa_protos(&nall);
	for (int i = optind; i < argc; i++) {
		const struct umpa_proto *pr = umpa_proto_find(argv[i]);
		if (!pr) {
			char near[UMPA_NEAR_MAX + 1];
			if (umpa_proto_near(argv[i], near, sizeof near))
				tool_err("fields: unknown protocol '%s': did you mean '%s'? ('umpa fields --list' "
					 "lists them)",
					 argv[i], near);
			else
				tool_err("fields: unknown protocol '%s' ('umpa fields --list' lists them)", argv[i]);
			return UMPA_EXIT_USAGE;
		}
		if (nsel == sizeof sel / sizeof sel[0]) {
			tool_err("fields: at most %zu protocols at once", sizeof sel / sizeof sel[0]);
			return UMPA_EXIT_USAGE;
		}
		sel[nsel++] = pr;
	}
	if (nsel == 0) {
		for (size_t i = 0; i < nall && i < sizeof sel / sizeof sel[0]; i++)
			sel[nsel++] = all[i];
	}
	if (json)
		umpa_sbuf_putc(&out, '[');
	for (size_t i = 0; i < nsel; i++) {
		if (list && !json) {
			umpa_sbuf_printf(&out, "%s\n", sel[i]->name);
			continue;
		}
		if (json) {
			if (i)
				umpa_sbuf_putc(&out, ',');
			if (list) {
				umpa_sbuf_put_json_str(&out, sel[i]->name, strlen(sel[i]->name));
				continue;
			}
			json_proto(sel[i], &out);
		} else {
			if (i)
				umpa_sbuf_putc(&out, '\n');
			text_proto(sel[i], &out);
		}
	}
	if (json)
		umpa_sbuf_puts(&out, "]\n");
	if (out.oom) {
		tool_err("fields: out of memory");
		rc = UMPA_EXIT_ERROR;
	} else if (out.s && (fwrite(out.s, 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
		tool_err("fields: cannot write the output");
		rc = UMPA_EXIT_ERROR;
	}
	umpa_sbuf_free(&out);
	return rc;
}
