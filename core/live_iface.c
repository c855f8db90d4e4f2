/* live_iface.c - interfaces: what libpcap can capture on, described by the kernel.
 *
 * The list comes from pcap_findalldevs (names, descriptions, libpcap's flags)
 * merged with getifaddrs (every interface the kernel has, with addresses)
 * and, per interface, if_nametoindex and the SIOCGIFFLAGS / SIOCGIFMTU /
 * SIOCGIFHWADDR ioctls.  Nothing is hard-coded: the link type is derived
 * from the hardware type the kernel reports, as libpcap does on Linux.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umpa_live.h"

/* LINKTYPE_ values (pcap-linktype(7)); the constants of the file format, not DLT_. */
enum { LT_ETHERNET_ = 1, LT_RAW_ = 101, LT_SLL_ = 113, LT_RADIOTAP_ = 127 };

/* The link type libpcap gives a capture on a device of ARP hardware type @p hw. */
static int live_linktype_(int hw)
{
	switch (hw) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
	case ARPHRD_IEEE802:
		return LT_ETHERNET_;
	case ARPHRD_NONE:
	case ARPHRD_SIT:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_IPGRE:
		return LT_RAW_;
	case ARPHRD_IEEE80211_RADIOTAP:
		return LT_RADIOTAP_;
	default:
		return LT_SLL_; /* libpcap's cooked fallback */
	}
}

/* Prefix length of a netmask of @p n bytes. */
static unsigned live_prefix_(const uint8_t *m, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = m[i];
		while (b & 0x80) {
			bits++;
			b = (uint8_t)(b << 1);
		}
		if (m[i] != 0xff)
			break;
	}
	return bits;
}

/* Fill index, flags, MTU, MAC and link type of @p it from the kernel (sock: any AF_INET dgram socket). */
static void live_kernel_info_(int sock, struct umpa_iface *it)
{
	struct ifreq ifr;

	it->index = if_nametoindex(it->name);
	it->linktype = -1;
	if (sock < 0 || strlen(it->name) >= sizeof ifr.ifr_name)
		return;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, it->name, strlen(it->name));
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0) {
		unsigned f = (unsigned)(unsigned short)ifr.ifr_flags;
		it->flags |= (f & IFF_UP) ? UMPA_IF_UP : 0;
		it->flags |= (f & IFF_RUNNING) ? UMPA_IF_RUNNING : 0;
		it->flags |= (f & IFF_LOOPBACK) ? UMPA_IF_LOOPBACK : 0;
		it->flags |= (f & IFF_PROMISC) ? UMPA_IF_PROMISC : 0;
		it->flags |= (f & IFF_BROADCAST) ? UMPA_IF_BROADCAST : 0;
		it->flags |= (f & IFF_MULTICAST) ? UMPA_IF_MULTICAST : 0;
		it->flags |= (f & IFF_POINTOPOINT) ? UMPA_IF_POINTOPOINT : 0;
	}
	if (ioctl(sock, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		it->mtu = (unsigned)ifr.ifr_mtu;
	if (ioctl(sock, SIOCGIFHWADDR, &ifr) == 0) {
		int hw = ifr.ifr_hwaddr.sa_family;
		it->linktype = live_linktype_(hw);
		if (hw == ARPHRD_ETHER || hw == ARPHRD_IEEE802) {
			memcpy(it->mac, ifr.ifr_hwaddr.sa_data, 6);
			it->has_mac = 1;
		}
	}
}

/* Add one address (from getifaddrs) to @p it. */
static void live_add_addr_(struct umpa_iface *it, const struct sockaddr *a, const struct sockaddr *mask)
{
	struct umpa_iface_addr *x;

	if (!a || (a->sa_family != AF_INET && a->sa_family != AF_INET6))
		return;
	if (it->naddrs >= UMPA_IFACE_MAXADDR) {
		it->naddrs_more++;
		return;
	}
	x = &it->addrs[it->naddrs++];
	memset(x, 0, sizeof *x);
	x->family = a->sa_family;
	if (a->sa_family == AF_INET) {
		memcpy(x->addr, &((const struct sockaddr_in *)(const void *)a)->sin_addr, 4);
		x->prefix =
		    mask ? live_prefix_((const uint8_t *)&((const struct sockaddr_in *)(const void *)mask)->sin_addr, 4)
			 : 32;
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)a;
		memcpy(x->addr, &s6->sin6_addr, 16);
		x->scope_id = s6->sin6_scope_id;
		x->prefix =
		    mask ? live_prefix_((const uint8_t *)&((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr,
					16)
			 : 128;
	}
}

/* Index of @p name in @p list, or -1. */
static long live_find_(const struct umpa_iface *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Append an entry named @p name (growing @p *list); returns its index or -1 on no memory. */
static long live_append_(struct umpa_iface **list, size_t *n, size_t *cap, const char *name)
{
	struct umpa_iface *it;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct umpa_iface *nl = realloc(*list, nc * sizeof *nl);
		if (!nl)
			return -1;
		*list = nl;
		*cap = nc;
	}
	it = &(*list)[*n];
	memset(it, 0, sizeof *it);
	snprintf(it->name, sizeof it->name, "%s", name);
	it->linktype = -1;
	return (long)(*n)++;
}

int umpa_ifaces(struct umpa_iface **listp, size_t *np, struct umpa_err *e)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_if_t *devs = NULL;
	struct ifaddrs *ifa = NULL;
	struct umpa_iface *list = NULL;
	size_t n = 0, cap = 0;
	int sock;

	*listp = NULL;
	*np = 0;
	if (pcap_findalldevs(&devs, errbuf) != 0)
		return umpa_err_set(e, UMPA_EIO, "cannot list interfaces: %s", errbuf);
	if (getifaddrs(&ifa) != 0) {
		int err = errno;
		pcap_freealldevs(devs);
		return umpa_err_set(e, UMPA_EIO, "cannot list interface addresses: %s", strerror(err));
	}
	for (pcap_if_t *d = devs; d; d = d->next) {
		long i = live_append_(&list, &n, &cap, d->name);
		if (i < 0)
			goto nomem;
		if (d->description)
			snprintf(list[i].description, sizeof list[i].description, "%s", d->description);
		list[i].flags |= (d->flags & PCAP_IF_LOOPBACK) ? UMPA_IF_LOOPBACK : 0;
		list[i].flags |= (d->flags & PCAP_IF_UP) ? UMPA_IF_UP : 0;
		list[i].flags |= (d->flags & PCAP_IF_RUNNING) ? UMPA_IF_RUNNING : 0;
		list[i].flags |= (d->flags & PCAP_IF_WIRELESS) ? UMPA_IF_WIRELESS : 0;
	}
	for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
		long i = live_find_(list, n, a->ifa_name);
		if (i < 0 && (i = live_append_(&list, &n, &cap, a->ifa_name)) < 0)
			goto nomem;
		live_add_addr_(&list[i], a->ifa_addr, a->ifa_netmask);
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (size_t i = 0; i < n; i++)
		live_kernel_info_(sock, &list[i]);
	if (sock >= 0)
		close(sock);
	freeifaddrs(ifa);
	pcap_freealldevs(devs);
	*listp = list;
	*np = n;
	return 0;
nomem:
	free(list);
	freeifaddrs(ifa);
	pcap_freealldevs(devs);
	return umpa_err_set(e, UMPA_ENOMEM, "cannot list interfaces: out of memory");
}

struct umpa_iface *umpa_ifaces_free(struct umpa_iface *list)
{
	free(list);
	return NULL;
}

int umpa_iface_get(const char *name, struct umpa_iface *out, struct umpa_err *e)
{
	struct umpa_iface *list;
	size_t n;
	long i;
	int rc;

	memset(out, 0, sizeof *out);
	out->linktype = -1;
	if (!name || !*name)
		return umpa_err_set(e, UMPA_EINVAL, "which interface? (empty name)");
	rc = umpa_ifaces(&list, &n, e);
	if (rc < 0)
		return rc;
	i = live_find_(list, n, name);
	if (i < 0) {
		umpa_ifaces_free(list);
		return umpa_err_set(e, UMPA_ENOENT, "no interface '%s'", name);
	}
	*out = list[i];
	umpa_ifaces_free(list);
	return 0;
}

void umpa_iface_flags_str(unsigned flags, char *buf, size_t n)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {UMPA_IF_UP, "UP"},
	    {UMPA_IF_RUNNING, "RUNNING"},
	    {UMPA_IF_LOOPBACK, "LOOPBACK"},
	    {UMPA_IF_BROADCAST, "BROADCAST"},
	    {UMPA_IF_MULTICAST, "MULTICAST"},
	    {UMPA_IF_POINTOPOINT, "POINTOPOINT"},
	    {UMPA_IF_PROMISC, "PROMISC"},
	    {UMPA_IF_WIRELESS, "WIRELESS"},
	    {0, NULL},
	};
	size_t used = 0;

	if (!n)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; names[i].name; i++) {
		int w;
		if (!(flags & names[i].bit))
			continue;
		w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", names[i].name);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
}
