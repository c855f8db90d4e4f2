/* cmd_ifaces.c - `umpa ifaces`: the interfaces umpa can capture on and send from. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "umpa_live.h"
#include "umpa_sbuf.h"
#include "umpa_tool.h"

static const char ifaces_usage[] = "usage: umpa ifaces [IFACE] [--json]\n"
				   "\n"
				   "List the network interfaces (from libpcap and the kernel): name, index, flags,\n"
				   "MTU, MAC address and addresses with their prefix length, like 'ip -br addr'.\n"
				   "  IFACE    show only this interface (an unknown name is an error)\n"
				   "  --json   one JSON object per interface and line: name, index, flags, mtu,\n"
				   "           mac (or null), linktype, addresses [{family, address, prefix}],\n"
				   "           description\n"
				   "Exit status: 0 ok, 1 unknown interface or the list could not be read, 2 usage.\n";

/* Append address @p a as text ("10.0.0.1", "fe80::1"). */
static void ifaces_put_addr_(struct umpa_sbuf *b, const struct umpa_iface_addr *a)
{
	if (a->family == AF_INET)
		umpa_sbuf_put_ipv4(b, a->addr);
	else
		umpa_sbuf_put_ipv6(b, a->addr);
}

static void ifaces_line_(struct umpa_sbuf *b, const struct umpa_iface *it)
{
	char flags[128];
	size_t start = b->len;

	umpa_iface_flags_str(it->flags, flags, sizeof flags);
	umpa_sbuf_printf(b, "%-16s %4u  %-40s mtu %-5u ", it->name, it->index, flags[0] ? flags : "-", it->mtu);
	umpa_sbuf_make_safe(b, start); /* a name may hold any byte but '/', ':' and blanks */
	if (it->has_mac)
		umpa_sbuf_put_mac(b, it->mac);
	else
		umpa_sbuf_puts(b, "-                ");
	for (size_t i = 0; i < it->naddrs; i++) {
		umpa_sbuf_putc(b, ' ');
		ifaces_put_addr_(b, &it->addrs[i]);
		umpa_sbuf_printf(b, "/%u", it->addrs[i].prefix);
	}
	if (it->naddrs_more)
		umpa_sbuf_printf(b, " (+%zu more)", it->naddrs_more);
	umpa_sbuf_putc(b, '\n');
}

static void ifaces_json_(struct umpa_sbuf *b, const struct umpa_iface *it)
{
	char flags[128], *save = NULL, *tok;
	int first = 1;

	umpa_iface_flags_str(it->flags, flags, sizeof flags);
	umpa_sbuf_puts(b, "{\"name\":");
	umpa_sbuf_put_json_str(b, it->name, strlen(it->name));
	umpa_sbuf_printf(b, ",\"index\":%u,\"flags\":[", it->index);
	for (tok = strtok_r(flags, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!first)
			umpa_sbuf_putc(b, ',');
		first = 0;
		umpa_sbuf_put_json_str(b, tok, strlen(tok));
	}
	umpa_sbuf_printf(b, "],\"mtu\":%u,\"mac\":", it->mtu);
	if (it->has_mac) {
		umpa_sbuf_putc(b, '"');
		umpa_sbuf_put_mac(b, it->mac);
		umpa_sbuf_putc(b, '"');
	} else
		umpa_sbuf_puts(b, "null");
	umpa_sbuf_printf(b, ",\"linktype\":%d,\"addresses\":[", it->linktype);
	for (size_t i = 0; i < it->naddrs; i++) {
		umpa_sbuf_printf(b, "%s{\"family\":\"%s\",\"address\":\"", i ? "," : "",
				 it->addrs[i].family == AF_INET ? "inet" : "inet6");
		ifaces_put_addr_(b, &it->addrs[i]);
		umpa_sbuf_printf(b, "\",\"prefix\":%u}", it->addrs[i].prefix);
	}
	umpa_sbuf_puts(b, "],\"description\":");
	umpa_sbuf_put_json_str(b, it->description, strlen(it->description));
	umpa_sbuf_puts(b, "}\n");
}

int cmd_ifaces(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct umpa_err e = {0};
	struct umpa_iface *list = NULL, one;
	struct umpa_sbuf out = {0};
	size_t n = 0;
	int json = 0, c, rc = UMPA_EXIT_OK;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(ifaces_usage, stdout);
			return UMPA_EXIT_OK;
		default:
			tool_err("ifaces: unknown option '%s' (try 'umpa ifaces --help')", argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		tool_err("ifaces: one interface at a time (got '%s' too)", argv[optind + 1]);
		return UMPA_EXIT_USAGE;
	}
	if (optind < argc) {
		if (umpa_iface_get(argv[optind], &one, &e) < 0) {
			tool_err("ifaces: %s", e.msg);
			return UMPA_EXIT_ERROR;
		}
		list = &one;
		n = 1;
	} else if (umpa_ifaces(&list, &n, &e) < 0) {
		tool_err("ifaces: %s", e.msg);
		return UMPA_EXIT_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		if (json)
			ifaces_json_(&out, &list[i]);
		else
			ifaces_line_(&out, &list[i]);
	}
	if (out.len)
		fwrite(out.s, 1, out.len, stdout);
	if (fflush(stdout) != 0 || ferror(stdout) || out.oom) {
		tool_err("ifaces: cannot write output");
		rc = UMPA_EXIT_ERROR;
	}
	umpa_sbuf_free(&out);
	if (list != &one)
		umpa_ifaces_free(list);
	return rc;
}
