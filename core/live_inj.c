/* live_inj.c - injection: libnet for single packets, a PACKET_TX_RING for bulk.
 *
 * Layer 2 sends frames exactly as built through libnet's link interface
 * (LIBNET_LINK_ADV, libnet_adv_write_link).  Layer 3 sends from the IPv4 or
 * IPv6 header on through libnet's raw sockets (LIBNET_RAW4_ADV /
 * LIBNET_RAW6_ADV, both opened by umpa_inj_open so privileges can go), and
 * the kernel routes and resolves the next hop.  libnet is the portable path.
 *
 * Bulk sending at layer 2 on Linux uses an AF_PACKET socket with a
 * memory-mapped TPACKET_V2 TX ring: frames are copied into ring slots and one
 * send(MSG_DONTWAIT) per batch hands them all to the kernel, which walks the
 * ring (no system call per frame) without us waiting for them to leave; the
 * slots are taken back (and counted) as the device frees them, and we wait
 * only when the ring is full, at umpa_inj_flush and at close.  If the ring cannot be set up (not Linux, old kernel, a
 * frame larger than a slot) the batch goes through libnet one frame at a time.
 *
 * The packet socket is opened with protocol 0 so it never receives (a socket
 * bound to ETH_P_ALL would queue a copy of every frame on the link); libnet
 * opens its own link socket for ETH_P_ALL, so it gets a drop-everything BPF
 * filter and is re-bound off ETH_P_ALL (live_untap_): no socket of ours is
 * then a tap, and with no sniffer on the link the kernel skips the taps for
 * every frame sent.  PACKET_QDISC_BYPASS is opt-in (umpa_inj_qdisc_bypass).
 */
#include <errno.h>
#include <libnet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#define LIVE_HAVE_RING_ 1
#endif

#include "umpa_live.h"

enum { LT_ETHERNET_ = 1 };

struct umpa_inj {
	int layer;
	char ifname[UMPA_IFNAME_MAX];
	libnet_t *ln;  /* layer 2 */
	libnet_t *ln4; /* layer 3, IPv4 */
	libnet_t *ln6; /* layer 3, IPv6 (NULL if it could not open: retried) */
	struct umpa_inj_stats st;
	/* TX ring (layer 2, Linux) */
	int rfd;
	uint8_t *ring;
	size_t ring_len;
	unsigned frame_size, frame_nr;
	unsigned head;     /* next slot to fill */
	unsigned tail;     /* oldest slot not yet taken back */
	unsigned inflight; /* slots queued or in flight, from tail on */
	unsigned mtu;      /* the link's MTU (0: unknown) */
	int ring_tried, ring_broken;
	int bypass;    /* PACKET_QDISC_BYPASS is on for the ring */
	unsigned vnet; /* bytes of virtio-net header before each frame in a slot (0: none) */
#ifdef LIVE_HAVE_RING_
	struct sockaddr_ll sll; /* where single frames go (libnet's socket), its index looked up once */
#endif
};

#ifdef LIVE_HAVE_RING_
/* Attach "drop every packet" to a packet socket that only sends. */
static void live_drop_rx_(int fd)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = {.len = 1, .filter = &drop};
	(void)setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/*
 * Take libnet's link socket (opened for ETH_P_ALL) out of the taps.  Every
 * socket bound to ETH_P_ALL makes the kernel walk the taps for each frame
 * any socket sends on the link (dev_queue_xmit_nit: skipped only when there
 * is no tap at all), and gets a copy of each frame received.  Binding to
 * protocol 0 would keep ETH_P_ALL (0 means "unchanged" to bind), so the
 * socket is bound to this link and to IEEE 802's local experimental
 * EtherType 1 (0x88B5), which nothing on a normal link carries; the
 * drop-everything filter also attached discards any such frame anyway.
 * libnet sends with an explicit sockaddr_ll, which the binding does not
 * change.
 */
static void live_untap_(int fd, const char *ifname)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(0x88B5);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	(void)bind(fd, (struct sockaddr *)&sll, sizeof sll);
}

/*
 * A packet socket that only sends: PACKET_IGNORE_OUTGOING (Linux 4.20) keeps
 * the kernel from cloning every frame sent on the link back to it (without
 * it each of our frames costs an skb clone and a filter run on the way out).
 */
static void live_ignore_outgoing_(int fd)
{
#ifdef PACKET_IGNORE_OUTGOING
	int one = 1;
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
#else
	(void)fd;
#endif
}
#endif

#ifdef LIVE_HAVE_RING_
static int live_ring_setup_(struct umpa_inj *j);

/* The link address single frames are sent to (what libnet_write_link fills
 * in, less its SIOCGIFINDEX per frame). */
static void live_sll_(struct umpa_inj *j)
{
	memset(&j->sll, 0, sizeof j->sll);
	j->sll.sll_family = AF_PACKET;
	j->sll.sll_protocol = htons(ETH_P_ALL);
	j->sll.sll_ifindex = (int)if_nametoindex(j->ifname);
}

/* Send one frame through libnet's link socket to the cached link address;
 * the index is looked up again once when the kernel no longer knows it (the
 * link was re-created).  Returns what write() does. */
static ssize_t live_send_link_(struct umpa_inj *j, const uint8_t *d, uint32_t n)
{
	ssize_t w;

	if (!j->sll.sll_ifindex)
		live_sll_(j);
	for (int tries = 0;; tries++) {
		w = sendto(libnet_getfd(j->ln), d, n, 0, (const struct sockaddr *)&j->sll, sizeof j->sll);
		if (w >= 0 || tries || (errno != ENXIO && errno != ENODEV && errno != EINVAL))
			return w;
		live_sll_(j);
	}
}
#endif

/* libnet's messages end with a newline or "." sometimes: trim it. */
static const char *live_trim_(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

static int live_libnet_err_(const char *ifname, const char *what, char *errbuf, struct umpa_err *e)
{
	live_trim_(errbuf);
	if (strstr(errbuf, "ermission") || strstr(errbuf, "UID") || strstr(errbuf, "not permitted"))
		return umpa_err_set(e, UMPA_EPERM, "%s: permission denied (%s needs root or CAP_NET_RAW): %s",
				    ifname ? ifname : "raw socket", what, errbuf);
	return umpa_err_set(e, UMPA_EIO, "%s: cannot open %s: %s", ifname ? ifname : "raw socket", what, errbuf);
}

struct umpa_inj *umpa_inj_open(const char *ifname, int layer, struct umpa_err *e)
{
	char errbuf[LIBNET_ERRBUF_SIZE] = "";
	struct umpa_inj *j;

	if (layer != 2 && layer != 3) {
		umpa_err_set(e, UMPA_EINVAL, "injection layer must be 2 or 3, not %d", layer);
		return NULL;
	}
	if (ifname && strlen(ifname) >= UMPA_IFNAME_MAX) {
		umpa_err_set(e, UMPA_ENOENT, "no interface '%.64s...' (name too long)", ifname);
		return NULL;
	}
	if (layer == 2 && (!ifname || !*ifname)) {
		umpa_err_set(e, UMPA_EINVAL, "sending frames needs an interface");
		return NULL;
	}
	if (ifname && *ifname && if_nametoindex(ifname) == 0) {
		umpa_err_set(e, UMPA_ENOENT, "no interface '%s'", ifname);
		return NULL;
	}
	j = calloc(1, sizeof *j);
	if (!j) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	j->layer = layer;
	j->rfd = -1;
	if (ifname)
		snprintf(j->ifname, sizeof j->ifname, "%s", ifname);
	if (layer == 2) {
		j->ln = libnet_init(LIBNET_LINK_ADV, j->ifname, errbuf);
		if (!j->ln) {
			live_libnet_err_(j->ifname, "link-layer injection", errbuf, e);
			return umpa_inj_close(j);
		}
#ifdef LIVE_HAVE_RING_
		live_drop_rx_(libnet_getfd(j->ln)); /* first: nothing queued meanwhile */
		live_untap_(libnet_getfd(j->ln), j->ifname);
		live_ignore_outgoing_(libnet_getfd(j->ln));
		live_sll_(j);
		/* now, while privileged: -Z may drop CAP_NET_RAW right after open */
		live_ring_setup_(j);
#endif
	} else {
		/* Both raw sockets now, while privileged: -Z may drop CAP_NET_RAW
		 * right after open.  IPv4 must open; IPv6 may not (a kernel without
		 * IPv6): then the first IPv6 packet tries again and says why. */
		j->ln4 = libnet_init(LIBNET_RAW4_ADV, j->ifname[0] ? j->ifname : NULL, errbuf);
		if (!j->ln4) {
			live_libnet_err_(j->ifname[0] ? j->ifname : NULL, "raw IPv4 injection", errbuf, e);
			return umpa_inj_close(j);
		}
		j->ln6 = libnet_init(LIBNET_RAW6_ADV, j->ifname[0] ? j->ifname : NULL, errbuf);
	}
	return j;
}

/* Where layer-3 sending starts in a packet: the network header and its destination. */
struct live_l3_ {
	const uint8_t *d;   /* the network header and all that follows */
	uint32_t n;         /* their length */
	int family;         /* AF_INET or AF_INET6 */
	const uint8_t *dst; /* the destination address inside d */
};

/*
 * Find the network header of @p p for layer-3 sending: the first layer whose
 * protocol is flagged UMPA_PF_NET.  Its "dst" field says the address family
 * (UMPA_FT_IPV4 or UMPA_FT_IPV6) and where the datagram goes; its fixed
 * header length is the least a raw socket takes.  The protocol tables say all
 * of this: the injector knows no protocol by name.  An undissected packet has
 * no layers: the caller indexes it first (umpa_dissect).  Returns 0, or -1
 * with @p e set.
 */
static int live_l3_(const struct umpa_pkt *p, struct live_l3_ *o, struct umpa_err *e)
{
	for (unsigned i = 0; i < p->nlayers; i++) {
		const struct umpa_layer *l = &p->l[i];
		const struct umpa_field *f;
		struct umpa_cur c;

		if (!l->proto || !(l->proto->pflags & UMPA_PF_NET))
			continue;
		f = umpa_proto_field(l->proto, "dst");
		if (!f || (f->type != UMPA_FT_IPV4 && f->type != UMPA_FT_IPV6))
			break;
		if (l->off >= p->len || p->len - l->off < l->proto->hdr_len)
			return umpa_err_set(e, UMPA_EINVAL, "layer-3 sending: %s header cut short", l->proto->name);
		umpa_cur_init(&c, p->data + l->off, p->len - l->off);
		if (umpa_cur_ptr_at(&c, f->bitoff / 8, f->bits / 8, &o->dst) < 0)
			return umpa_err_set(e, UMPA_EINVAL, "layer-3 sending: %s header cut short", l->proto->name);
		o->d = c.p;
		o->n = (uint32_t)c.len;
		o->family = f->type == UMPA_FT_IPV4 ? AF_INET : AF_INET6;
		return 0;
	}
	return umpa_err_set(e, UMPA_EINVAL, "layer-3 sending: the packet has no IPv4 or IPv6 header");
}

static int live_send_l3_(struct umpa_inj *j, const struct umpa_pkt *p, struct umpa_err *e)
{
	char errbuf[LIBNET_ERRBUF_SIZE] = "";
	struct live_l3_ o;
	libnet_t *l;
	int r;

	if (live_l3_(p, &o, e) < 0)
		return -e->code;
	if (o.family == AF_INET) {
		l = j->ln4;
		r = libnet_write_raw_ipv4(l, o.d, o.n);
	} else {
		if (!j->ln6) {
			j->ln6 = libnet_init(LIBNET_RAW6_ADV, j->ifname[0] ? j->ifname : NULL, errbuf);
			if (!j->ln6)
				return live_libnet_err_(j->ifname[0] ? j->ifname : NULL, "raw IPv6 injection", errbuf,
							e);
		}
		l = j->ln6;
		r = libnet_write_raw_ipv6(l, o.d, o.n);
	}
	if (r < 0 || (uint32_t)r != o.n) {
		snprintf(errbuf, sizeof errbuf, "%s", libnet_geterror(l));
		return umpa_err_set(e, UMPA_EIO, "%s: send failed: %s", j->ifname[0] ? j->ifname : "raw socket",
				    live_trim_(errbuf));
	}
	return 0;
}

int umpa_inj_send(struct umpa_inj *j, const struct umpa_pkt *p, struct umpa_err *e)
{
	int r;

	if (j->layer == 3)
		r = live_send_l3_(j, p, e);
	else if (p->linktype != LT_ETHERNET_)
		r = umpa_err_set(e, UMPA_EINVAL, "%s: frames sent at layer 2 must be Ethernet (link type %d)",
				 j->ifname, p->linktype);
	else if (p->len < 14)
		r = umpa_err_set(e, UMPA_EINVAL, "%s: frame of %u bytes is shorter than an Ethernet header", j->ifname,
				 p->len);
	else {
#ifdef LIVE_HAVE_RING_
		ssize_t w = live_send_link_(j, p->data, p->len);
		r = 0;
		if (w < 0 || (uint32_t)w != p->len)
			r = umpa_err_set(e, UMPA_EIO, "%s: send failed: %s", j->ifname,
					 w < 0 ? strerror(errno) : "short write");
#else
		int w = libnet_adv_write_link(j->ln, p->data, p->len);
		r = 0;
		if (w < 0 || (uint32_t)w != p->len) {
			char msg[LIBNET_ERRBUF_SIZE];
			snprintf(msg, sizeof msg, "%s", libnet_geterror(j->ln));
			r = umpa_err_set(e, UMPA_EIO, "%s: send failed: %s", j->ifname, live_trim_(msg));
		}
#endif
	}
	if (r < 0) {
		j->st.errors++;
		return r;
	}
	j->st.sent++;
	j->st.bytes += p->len;
	return 0;
}

#ifdef LIVE_HAVE_RING_
enum { LIVE_RING_SLOTS_ = 512, LIVE_RING_MAX_ = 4 << 20 };

/*
 * Each slot's frame behind a virtio-net header (PACKET_VNET_HDR) whose
 * hdr_len is the frame's length: the kernel then copies the whole frame into
 * the skb's linear part.  Without it the ring's frames become page fragments
 * of the skb (no copy), which every link that hands the frame to a local
 * stack must copy out again, one page allocated per frame (veth, bridges,
 * macvlan: skb_copy_ubufs); with it, 60-byte frames over a veth pair took
 * 0.96-1.01 s of CPU per million (Linux 6.18) against 1.28-1.34 s without,
 * and 1.25-1.28 s by sendmmsg.  tpacket_snd reads the header since Linux
 * 4.11 (before, it would be sent as data): older kernels go without.
 * Returns the header's size, or 0.
 */
static unsigned live_vnet_(int fd)
{
	struct utsname u;
	unsigned maj = 0, min = 0;
	int one = 1;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &maj, &min) != 2 || maj < 4 || (maj == 4 && min < 11))
		return 0;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0)
		return 0;
	return (unsigned)sizeof(struct virtio_net_hdr);
}

/* Set up the TPACKET_V2 TX ring; returns 0 or -1 (then batches use libnet). */
static int live_ring_setup_(struct umpa_inj *j)
{
	struct sockaddr_ll sll;
	struct tpacket_req req;
	int ver = TPACKET_V2;
	unsigned mtu_frame = 2048;
	struct umpa_iface it;

	j->ring_tried = 1;
	if (umpa_iface_get(j->ifname, &it, NULL) == 0 && it.mtu) {
		j->mtu = it.mtu;
		while (mtu_frame < it.mtu + 14 + 4 + TPACKET2_HDRLEN + 64 && mtu_frame < (1u << 17))
			mtu_frame <<= 1;
	}
	j->rfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (j->rfd < 0)
		return -1;
	if (setsockopt(j->rfd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0)
		goto fail;
	live_ignore_outgoing_(j->rfd);
	j->vnet = live_vnet_(j->rfd);
	memset(&req, 0, sizeof req);
	req.tp_frame_size = mtu_frame;
	req.tp_block_size = mtu_frame > 65536 ? mtu_frame : 65536;
	/* LIVE_RING_SLOTS_ slots (two batches of the scheduler's 256 in flight),
	 * at most LIVE_RING_MAX_ bytes: a ring larger than the caches costs a
	 * little more per frame (measured: 64 blocks about 1% slower than 16 on
	 * 60-byte frames) and more pages to fault in */
	req.tp_block_nr = (LIVE_RING_SLOTS_ + req.tp_block_size / mtu_frame - 1) / (req.tp_block_size / mtu_frame);
	if ((size_t)req.tp_block_nr * req.tp_block_size > LIVE_RING_MAX_)
		req.tp_block_nr = LIVE_RING_MAX_ / req.tp_block_size;
	req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
	if (setsockopt(j->rfd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0)
		goto fail;
	j->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
	j->ring = mmap(NULL, j->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, j->rfd, 0);
	if (j->ring == MAP_FAILED) {
		j->ring = NULL;
		goto fail;
	}
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0; /* send only: never receive */
	sll.sll_ifindex = (int)if_nametoindex(j->ifname);
	if (bind(j->rfd, (struct sockaddr *)&sll, sizeof sll) < 0)
		goto fail;
	j->frame_size = req.tp_frame_size;
	j->frame_nr = req.tp_frame_nr;
	j->head = j->tail = j->inflight = 0;
	return 0;
fail:
	if (j->ring)
		munmap(j->ring, j->ring_len);
	j->ring = NULL;
	close(j->rfd);
	j->rfd = -1;
	return -1;
}

static struct tpacket2_hdr *live_frame_(struct umpa_inj *j, unsigned i)
{
	return (struct tpacket2_hdr *)(void *)(j->ring + (size_t)i * j->frame_size);
}

static int live_status_(struct tpacket2_hdr *h)
{
	return (int)__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
}

/*
 * Take back the slots the kernel is done with, oldest first: a slot back to
 * AVAILABLE with a length went out (counted sent), one marked WRONG_FORMAT
 * was refused (counted an error, @p e says why, and the ring is given up:
 * the kernel stops at a refused slot for good).  Stops at the first slot
 * still queued or in flight.  Returns 0 or -UMPA_EINVAL after a refusal.
 */
static int live_ring_reap_(struct umpa_inj *j, struct umpa_err *e)
{
	int rc = 0;

	while (j->inflight) {
		struct tpacket2_hdr *h = live_frame_(j, j->tail);
		int s = live_status_(h);
		if (s == TP_STATUS_AVAILABLE) {
			j->st.sent++;
			j->st.bytes += h->tp_len - j->vnet;
		} else if (s == TP_STATUS_WRONG_FORMAT) {
			rc = umpa_err_set(e, UMPA_EINVAL, "%s: the kernel refused a frame of %u bytes", j->ifname,
					  h->tp_len - j->vnet);
			j->st.errors++;
			j->ring_broken = 1;
		} else
			break;
		h->tp_len = 0;
		j->tail = (j->tail + 1) % j->frame_nr;
		j->inflight--;
	}
	return rc;
}

/*
 * Ask the kernel to walk the queued slots.  With @p wait 0 the call does not
 * wait for the frames to leave (MSG_DONTWAIT: slots come back as the device
 * frees them, collected by live_ring_reap_); with 1 it returns once every
 * queued frame has left.  Returns 0 or a negative error.
 */
static int live_ring_kick_(struct umpa_inj *j, int wait, struct umpa_err *e)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t r = send(j->rfd, NULL, 0, wait ? 0 : MSG_DONTWAIT);
		if (r >= 0 || errno == EAGAIN || errno == ENOBUFS || errno == EWOULDBLOCK) {
			/* The kernel stops walking when the socket's send buffer is
			 * full (frames still in flight on a slow device): then the
			 * last frame queued is still a request, and we wait for it,
			 * so that every frame of a batch has gone to the device
			 * when the batch returns. */
			unsigned last = (j->head + j->frame_nr - 1) % j->frame_nr;
			if (wait || !j->inflight || live_status_(live_frame_(j, last)) != TP_STATUS_SEND_REQUEST)
				return 0;
			wait = 1;
			continue;
		}
		if (errno != EINTR)
			break;
	}
	if (errno == EINVAL || errno == EMSGSIZE)
		return 0; /* a refused slot: live_ring_reap_ finds and counts it */
	return umpa_err_set(e, UMPA_EIO, "%s: send failed: %s", j->ifname, strerror(errno));
}

/*
 * Give the ring up after the kernel refused a frame: every slot still queued
 * behind it is counted an error, and batches go through libnet from now on.
 */
static void live_ring_drop_(struct umpa_inj *j)
{
	j->st.errors += j->inflight;
	j->inflight = 0;
	munmap(j->ring, j->ring_len);
	j->ring = NULL;
	close(j->rfd);
	j->rfd = -1;
}

/* Wait until every queued frame has left and count them.  Returns 0 or a negative error. */
static int live_ring_drain_(struct umpa_inj *j, struct umpa_err *e)
{
	int rc = 0;

	for (int tries = 0; j->inflight && tries < 1000 && rc == 0; tries++) {
		if (tries < 10)
			rc = live_ring_kick_(j, 1, e);
		else
			usleep(1000); /* slots the device still holds: bounded at about a second */
		if (rc == 0)
			rc = live_ring_reap_(j, e);
	}
	if (rc == 0 && j->inflight)
		rc = umpa_err_set(e, UMPA_EIO, "%s: %u frames never left the TX ring", j->ifname, j->inflight);
	if (rc < 0 || j->ring_broken)
		live_ring_drop_(j);
	return rc;
}

/* The most bytes the kernel takes in one frame on this link (it refuses longer ones). */
static int live_ring_fits_(const struct umpa_inj *j, const struct umpa_pkt *p)
{
	const size_t data_off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
	uint32_t max = j->mtu + 14;

	if (p->len >= 16 && p->data[12] == 0x81 && p->data[13] == 0x00)
		max += 4; /* one 802.1Q tag beyond the MTU */
	return p->linktype == LT_ETHERNET_ && p->len >= 14 && p->len + j->vnet <= j->frame_size - data_off &&
	       p->len <= 65535 && (!j->mtu || p->len <= max);
}

/*
 * Queue @p pkts into the ring and have the kernel walk it without waiting
 * for the frames to leave; wait for free slots only when the ring is full.
 * A frame the ring cannot take goes through libnet (after what is queued).
 */
static int live_ring_batch_(struct umpa_inj *j, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	const size_t data_off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
	unsigned i = 0, ok = 0, queued = 0, full_waits = 0;
	int rc = 0;

	while (i < n && rc == 0 && j->ring) {
		const struct umpa_pkt *p = pkts[i];
		struct tpacket2_hdr *h;
		if (!live_ring_fits_(j, p)) {
			/* not for the ring: start what is queued, then this one through libnet */
			if (queued && (rc = live_ring_kick_(j, 0, e)) < 0)
				break;
			queued = 0;
			if (umpa_inj_send(j, p, e) == 0)
				ok++;
			else
				rc = -e->code;
			i++;
			continue;
		}
		if (j->inflight == j->frame_nr) {
			/* full: collect what is done; if nothing is, wait for the kernel */
			if ((rc = live_ring_reap_(j, e)) < 0)
				break;
			if (j->inflight == j->frame_nr) {
				if ((rc = live_ring_kick_(j, 1, e)) < 0 || (rc = live_ring_reap_(j, e)) < 0)
					break;
				queued = 0;
				if (j->inflight == j->frame_nr) {
					/* the device still holds every slot: bounded at about a second */
					if (++full_waits > 1000) {
						rc = umpa_err_set(e, UMPA_EIO, "%s: the TX ring stays full", j->ifname);
						break;
					}
					usleep(1000);
					continue;
				}
			}
		}
		h = live_frame_(j, j->head);
		if (j->vnet) {
			/* hdr_len: the whole frame is copied into the skb (live_vnet_); native
			 * byte order is the legacy virtio-net header's */
			struct virtio_net_hdr vh;
			memset(&vh, 0, sizeof vh);
			vh.hdr_len = (uint16_t)p->len;
			memcpy((uint8_t *)h + data_off, &vh, sizeof vh);
		}
		memcpy((uint8_t *)h + data_off + j->vnet, p->data, p->len);
		h->tp_len = p->len + j->vnet;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		j->head = (j->head + 1) % j->frame_nr;
		j->inflight++;
		queued++;
		ok++;
		i++;
	}
	if (rc == 0 && queued)
		rc = live_ring_kick_(j, 0, e);
	if (rc == 0)
		rc = live_ring_reap_(j, e);
	if (j->ring && (rc < 0 || j->ring_broken))
		live_ring_drop_(j);
	if (rc < 0)
		return rc; /* a refused frame (counted in errors) or a failed send */
	return (int)ok;
}
#endif

#ifdef LIVE_HAVE_RING_
/* Most packets handed to one sendmmsg at layer 3. */
#define LIVE_MMSG_ 64

/*
 * Layer 3 in bulk: sendmmsg on libnet's own raw sockets (IP_HDRINCL for IPv4,
 * IPPROTO_RAW for IPv6, the same sockets and the same destination rule as
 * libnet_write_raw_ipv4/6: the header's destination address), up to
 * LIVE_MMSG_ packets of one family per system call, in order.  A packet the
 * kernel refuses is counted, reported in @p e and skipped.
 */
static int live_l3_batch_(struct umpa_inj *j, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	struct mmsghdr msg[LIVE_MMSG_];
	struct iovec iov[LIVE_MMSG_];
	struct sockaddr_in6 dst[LIVE_MMSG_]; /* large enough for either family */
	struct umpa_err ignored; /* a packet that is not sendable in bulk goes the single way, which says why */
	unsigned i = 0, ok = 0;
	int failed = 0;

	while (i < n) {
		unsigned k = 0;
		int v = 0;
		int fd;
		libnet_t *l;
		/* one run of packets of the same IP version */
		while (i < n && k < LIVE_MMSG_) {
			struct live_l3_ o;
			if (live_l3_(pkts[i], &o, &ignored) < 0 || (v && o.family != v))
				break;
			v = o.family;
			memset(&dst[k], 0, sizeof dst[k]);
			if (o.family == AF_INET) {
				struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&dst[k];
				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, o.dst, 4);
			} else {
				dst[k].sin6_family = AF_INET6;
				memcpy(&dst[k].sin6_addr, o.dst, 16);
			}
			iov[k].iov_base = (void *)(uintptr_t)o.d;
			iov[k].iov_len = o.n;
			memset(&msg[k], 0, sizeof msg[k]);
			msg[k].msg_hdr.msg_name = &dst[k];
			msg[k].msg_hdr.msg_namelen =
			    v == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
			msg[k].msg_hdr.msg_iov = &iov[k];
			msg[k].msg_hdr.msg_iovlen = 1;
			k++;
			i++;
		}
		if (k == 0) {
			/* not sendable in bulk (no IP header, cut short): the single path says why */
			if (umpa_inj_send(j, pkts[i], e) == 0)
				ok++;
			else
				failed = 1;
			i++;
			continue;
		}
		if (v == AF_INET6 && !j->ln6) {
			char errbuf[LIBNET_ERRBUF_SIZE] = "";
			j->ln6 = libnet_init(LIBNET_RAW6_ADV, j->ifname[0] ? j->ifname : NULL, errbuf);
			if (!j->ln6) {
				j->st.errors += k;
				live_libnet_err_(j->ifname[0] ? j->ifname : NULL, "raw IPv6 injection", errbuf, e);
				return ok ? (int)ok : -e->code;
			}
		}
		l = v == AF_INET ? j->ln4 : j->ln6;
		fd = libnet_getfd(l);
		for (unsigned at = 0; at < k;) {
			int r = sendmmsg(fd, msg + at, k - at, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				/* msg[at] was refused: count it, say why, go on with the next */
				umpa_err_set(e, UMPA_EIO, "%s: send failed: %s",
					     j->ifname[0] ? j->ifname : "raw socket", strerror(r < 0 ? errno : EIO));
				j->st.errors++;
				failed = 1;
				at++;
				continue;
			}
			for (int q = 0; q < r; q++)
				j->st.bytes += msg[at + q].msg_len;
			j->st.sent += (unsigned)r;
			ok += (unsigned)r;
			at += (unsigned)r;
		}
	}
	if (ok == 0 && failed)
		return -e->code;
	return (int)ok;
}
#endif

int umpa_inj_send_batch(struct umpa_inj *j, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	unsigned ok = 0;

	if (n > (unsigned)INT32_MAX)
		n = INT32_MAX;
#ifdef LIVE_HAVE_RING_
	if (j->layer == 2 && !j->ring_tried)
		live_ring_setup_(j);
	if (j->layer == 2 && j->ring)
		return live_ring_batch_(j, pkts, n, e);
	if (j->layer == 3)
		return live_l3_batch_(j, pkts, n, e);
#endif
	for (unsigned i = 0; i < n; i++) {
		int r = umpa_inj_send(j, pkts[i], e);
		if (r < 0)
			return ok ? (int)ok : r;
		ok++;
	}
	return (int)ok;
}

int umpa_inj_flush(struct umpa_inj *j, struct umpa_err *e)
{
#ifdef LIVE_HAVE_RING_
	if (j->ring)
		return live_ring_drain_(j, e);
#endif
	(void)j;
	(void)e;
	return 0;
}

void umpa_inj_stats(const struct umpa_inj *j, struct umpa_inj_stats *st)
{
	*st = j->st;
}

int umpa_inj_qdisc_bypass(struct umpa_inj *j, int on, struct umpa_err *e)
{
#if defined(LIVE_HAVE_RING_) && defined(PACKET_QDISC_BYPASS)
	int v = on ? 1 : 0;
	if (!j->ring)
		return umpa_err_set(e, UMPA_ENOSYS, "%s: no TX ring: the qdisc bypass applies to the TX ring only",
				    j->ifname[0] ? j->ifname : "layer 3");
	if (setsockopt(j->rfd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof v) < 0)
		return umpa_err_set(e, UMPA_ENOSYS, "%s: PACKET_QDISC_BYPASS: %s", j->ifname, strerror(errno));
	j->bypass = v;
	return 0;
#else
	(void)on;
	return umpa_err_set(e, UMPA_ENOSYS, "%s: no PACKET_QDISC_BYPASS here", j->ifname[0] ? j->ifname : "layer 3");
#endif
}

const char *umpa_inj_backend(const struct umpa_inj *j)
{
	if (j->ring)
		return j->bypass ? "tx-ring, qdisc bypassed" : "tx-ring";
#ifdef LIVE_HAVE_RING_
	if (j->layer == 3)
		return "sendmmsg";
#endif
	return "libnet";
}

struct umpa_inj *umpa_inj_close(struct umpa_inj *j)
{
	if (!j)
		return NULL;
#ifdef LIVE_HAVE_RING_
	if (j->ring) {
		struct umpa_err e = {0};
		(void)live_ring_drain_(j, &e); /* the frames queued go out before the socket closes */
	}
#endif
	if (j->ln)
		libnet_destroy(j->ln);
	if (j->ln4)
		libnet_destroy(j->ln4);
	if (j->ln6)
		libnet_destroy(j->ln6);
#ifdef LIVE_HAVE_RING_
	if (j->ring)
		munmap(j->ring, j->ring_len);
	if (j->rfd >= 0)
		close(j->rfd);
#endif
	free(j);
	return NULL;
}
