/* live_cap.c - live capture through libpcap, one non-blocking handle per interface.
 *
 * The handle is made with pcap_create so that every option is set before
 * pcap_activate: snap length, buffer size, promiscuous mode, immediate mode
 * (each packet as it arrives, which an action-reaction engine needs) and
 * nanosecond timestamps where the platform has them.  After activation it is
 * switched to non-blocking mode and its selectable descriptor is handed to
 * the event loop; umpa_cap_dispatch runs pcap_dispatch in the loop's
 * callback, as honeyd's interface.c does.  Packets are attached to libpcap's
 * buffer, not copied: one umpa_pkt lives in the handle and is reused.
 */
#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_live.h"

struct umpa_cap {
	pcap_t *pc;
	int fd;
	int linktype;
	int nsec;
	uint64_t delivered;
	umpa_cap_cb cb; /* during dispatch */
	void *arg;
	struct umpa_pkt pkt; /* reused for every packet: no allocation per packet */
	char ifname[UMPA_IFNAME_MAX];
};

void umpa_cap_opts_init(struct umpa_cap_opts *o)
{
	memset(o, 0, sizeof *o);
	o->snaplen = 262144;
	o->bufsize = 0;
	o->promisc = 0;
	o->filter = NULL;
	o->dir = UMPA_DIR_INOUT;
	o->nsec = 1;
	o->immediate = 1;
	o->timeout_ms = 100;
}

/* Set e from a failed pcap_activate status. */
static int live_activate_err_(struct umpa_cap *c, int st, struct umpa_err *e)
{
	const char *txt = pcap_geterr(c->pc);

	switch (st) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		return umpa_err_set(e, UMPA_ENOENT, "no interface '%s'", c->ifname);
	case PCAP_ERROR_PERM_DENIED:
		return umpa_err_set(e, UMPA_EPERM, "%s: permission denied (capturing needs root or CAP_NET_RAW)",
				    c->ifname);
	case PCAP_ERROR_IFACE_NOT_UP:
		return umpa_err_set(e, UMPA_EIO, "%s: interface is down", c->ifname);
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		return umpa_err_set(e, UMPA_EPERM, "%s: permission denied for promiscuous mode", c->ifname);
	default:
		return umpa_err_set(e, UMPA_EIO, "%s: cannot capture: %s", c->ifname,
				    txt && *txt ? txt : pcap_statustostr(st));
	}
}

struct umpa_cap *umpa_cap_open(const char *ifname, const struct umpa_cap_opts *o, struct umpa_err *e)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct umpa_cap_opts def;
	struct umpa_cap *c;
	int st;

	if (!o) {
		umpa_cap_opts_init(&def);
		o = &def;
	}
	if (!ifname || !*ifname) {
		umpa_err_set(e, UMPA_EINVAL, "which interface? (empty name)");
		return NULL;
	}
	if (strlen(ifname) >= UMPA_IFNAME_MAX) {
		umpa_err_set(e, UMPA_ENOENT, "no interface '%.64s...' (name too long)", ifname);
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", ifname);
		return NULL;
	}
	snprintf(c->ifname, sizeof c->ifname, "%s", ifname);
	umpa_pkt_init(&c->pkt);
	c->fd = -1;
	c->pc = pcap_create(ifname, errbuf);
	if (!c->pc) {
		umpa_err_set(e, UMPA_EIO, "%s: cannot capture: %s", ifname, errbuf);
		return umpa_cap_close(c);
	}
	pcap_set_snaplen(c->pc, o->snaplen > 0 ? o->snaplen : 262144);
	pcap_set_promisc(c->pc, o->promisc ? 1 : 0);
	pcap_set_timeout(c->pc, o->timeout_ms > 0 ? o->timeout_ms : 100);
	if (o->bufsize > 0)
		pcap_set_buffer_size(c->pc, o->bufsize);
	if (o->immediate)
		pcap_set_immediate_mode(c->pc, 1);
	if (o->nsec)
		(void)pcap_set_tstamp_precision(c->pc, PCAP_TSTAMP_PRECISION_NANO); /* micro if unsupported */
	st = pcap_activate(c->pc);
	if (st < 0) {
		/* libpcap's message for an unknown name is not always NO_SUCH_DEVICE; when the
		 * kernel does not know the name either, say so.  (Pseudo-devices such as "any"
		 * or "nflog" have no kernel index but activate fine, so this is not asked first.) */
		if (st != PCAP_ERROR_PERM_DENIED && if_nametoindex(ifname) == 0 && errno == ENODEV)
			st = PCAP_ERROR_NO_SUCH_DEVICE;
		live_activate_err_(c, st, e);
		return umpa_cap_close(c);
	}
	if (pcap_setnonblock(c->pc, 1, errbuf) < 0) {
		umpa_err_set(e, UMPA_EIO, "%s: cannot make the capture non-blocking: %s", ifname, errbuf);
		return umpa_cap_close(c);
	}
	if (o->dir != UMPA_DIR_INOUT) {
		pcap_direction_t d = o->dir == UMPA_DIR_IN ? PCAP_D_IN : PCAP_D_OUT;
		if (pcap_setdirection(c->pc, d) < 0) {
			umpa_err_set(e, UMPA_ENOSYS, "%s: cannot filter by direction: %s", ifname, pcap_geterr(c->pc));
			return umpa_cap_close(c);
		}
	}
	c->fd = pcap_get_selectable_fd(c->pc);
#ifdef PACKET_IGNORE_OUTGOING
	/* inbound only: the kernel need not copy every frame sent on the link (ours
	 * first: a responder's every answer) into the ring for libpcap to skip it,
	 * nor wake us for it.  Linux 4.20; without it libpcap's filter does the same. */
	if (o->dir == UMPA_DIR_IN && c->fd >= 0 && pcap_datalink(c->pc) != DLT_LINUX_SLL &&
	    pcap_datalink(c->pc) != DLT_LINUX_SLL2)
		(void)setsockopt(c->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &(int){1}, sizeof(int));
#endif
	c->linktype = pcap_datalink(c->pc);
	c->nsec = pcap_get_tstamp_precision(c->pc) == PCAP_TSTAMP_PRECISION_NANO;
	/* pcap_datalink gives DLT_ values; map to LINKTYPE_ (identical for the common ones). */
	if (c->linktype == DLT_RAW)
		c->linktype = 101;
	if (o->filter && *o->filter && umpa_cap_setfilter(c, o->filter, e) < 0)
		return umpa_cap_close(c);
	return c;
}

int umpa_cap_fd(const struct umpa_cap *c)
{
	return c ? c->fd : -1;
}

int umpa_cap_linktype(const struct umpa_cap *c)
{
	return c->linktype;
}

int umpa_cap_nsec(const struct umpa_cap *c)
{
	return c->nsec;
}

const char *umpa_cap_ifname(const struct umpa_cap *c)
{
	return c->ifname;
}

int umpa_cap_setfilter(struct umpa_cap *c, const char *filter, struct umpa_err *e)
{
	struct bpf_program prog;

	if (!filter)
		filter = "";
	if (pcap_compile(c->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return umpa_err_set(e, UMPA_EINVAL, "bad filter '%s': %s", filter, pcap_geterr(c->pc));
	if (pcap_setfilter(c->pc, &prog) < 0) {
		umpa_err_set(e, UMPA_EIO, "%s: cannot set filter '%s': %s", c->ifname, filter, pcap_geterr(c->pc));
		pcap_freecode(&prog);
		return -UMPA_EIO;
	}
	pcap_freecode(&prog);
	return 0;
}

/* pcap_handler: attach the packet (no copy) and hand it on. */
static void live_cap_handler_(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct umpa_cap *c = (struct umpa_cap *)(void *)user;
	struct umpa_pkt *p = &c->pkt;

	umpa_pkt_attach(p, bytes, h->caplen, h->len, c->linktype);
	p->ts_sec = (int64_t)h->ts.tv_sec;
	/* with nanosecond precision libpcap puts nanoseconds in tv_usec */
	p->ts_nsec = c->nsec ? (uint32_t)h->ts.tv_usec : (uint32_t)h->ts.tv_usec * 1000u;
	p->comment = NULL;
	c->delivered++;
	c->cb(p, c->arg);
}

int umpa_cap_dispatch(struct umpa_cap *c, int max, umpa_cap_cb cb, void *arg, struct umpa_err *e)
{
	uint64_t before = c->delivered;
	int r;

	c->cb = cb;
	c->arg = arg;
	errno = 0;
	r = pcap_dispatch(c->pc, max > 0 ? max : -1, live_cap_handler_, (u_char *)c);
	c->cb = NULL;
	if (r == PCAP_ERROR_BREAK)
		return (int)(c->delivered - before);
	/* some libpcap backends (nflog) report a non-blocking read with nothing to read as an error */
	if (r == PCAP_ERROR && (errno == EAGAIN || errno == EWOULDBLOCK))
		return (int)(c->delivered - before);
	if (r < 0)
		return umpa_err_set(e, UMPA_EIO, "%s: capture failed: %s", c->ifname, pcap_geterr(c->pc));
	return r;
}

void umpa_cap_breakloop(struct umpa_cap *c)
{
	pcap_breakloop(c->pc);
}

int umpa_cap_stats(struct umpa_cap *c, struct umpa_cap_stats *st, struct umpa_err *e)
{
	struct pcap_stat ps;

	memset(st, 0, sizeof *st);
	st->delivered = c->delivered;
	if (pcap_stats(c->pc, &ps) < 0)
		return umpa_err_set(e, UMPA_EIO, "%s: cannot read capture statistics: %s", c->ifname,
				    pcap_geterr(c->pc));
	st->received = ps.ps_recv;
	st->dropped = ps.ps_drop;
	st->ifdropped = ps.ps_ifdrop;
	return 0;
}

struct umpa_cap *umpa_cap_close(struct umpa_cap *c)
{
	if (!c)
		return NULL;
	if (c->pc)
		pcap_close(c->pc);
	umpa_pkt_release(&c->pkt);
	free(c);
	return NULL;
}
