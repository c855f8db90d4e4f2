/* tcpend_peer.c - the one-sided TCP endpoint (sched/umpa_tcpend.h) live on an interface, for tests/netns/tcpend.sh.
 *
 * Captures the segments addressed to LOCAL_IP:LOCAL_PORT on IFACE (libpcap,
 * inbound only), feeds them to an endpoint on a live umpa_loop and injects
 * what the endpoint sends at layer 2.  LOCAL_IP is an address the kernel of
 * this namespace does not own, so the kernel neither answers nor resets;
 * the peer's kernel reaches it through a static neighbour entry.
 *
 *   tcpend_peer IFACE listen|connect LOCAL_IP LOCAL_PORT LOCAL_MAC REMOTE_IP REMOTE_PORT REMOTE_MAC
 *               [send=FILE] [out=FILE] [echo=1] [drop=P] [seed=N] [timeout=S] [pcap=FILE]
 *
 * listen: accept one connection (REMOTE_PORT 0: any); connect: open one.
 * send=FILE is written after the handshake, then the endpoint shuts down;
 * echo=1 writes back what it receives and shuts down after the peer's FIN;
 * out=FILE receives the bytes.  drop=P drops that share of the segments
 * each way (seeded), so both sides retransmit.  pcap=FILE records every
 * segment in and out.  Exits 0 once the connection is over (both FINs
 * acknowledged, or TIME-WAIT) with a line of counters on stdout; 1 on a
 * reset, a timeout or any error (one line on stderr); 2 on bad usage.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_capfile.h"
#include "umpa_live.h"
#include "umpa_protos.h"
#include "umpa_sched.h"
#include "umpa_tcpend.h"

struct peer {
	struct umpa_loop *loop;
	struct umpa_tcpe *ep;
	struct umpa_cap *cap;
	struct umpa_inj *inj;
	struct umpa_capw *w;
	FILE *out;
	int echo;
	const char *send;
	double drop;
	uint64_t rng;
	uint64_t dropped_in, dropped_out;
	int over, bad;
	struct umpa_err err;
};

static double u01_(struct peer *p)
{
	uint64_t z = (p->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

static int emit_(void *arg, const struct umpa_pkt *pkt, struct umpa_err *e)
{
	struct peer *p = arg;

	if (p->drop > 0 && u01_(p) < p->drop) {
		p->dropped_out++;
		return 0;
	}
	if (p->w && umpa_capw_write(p->w, pkt, e) < 0)
		return -e->code;
	return umpa_inj_send(p->inj, pkt, e);
}

static void data_(void *arg, const uint8_t *d, size_t n)
{
	struct peer *p = arg;
	struct umpa_err e = {0};

	if (p->out && fwrite(d, 1, n, p->out) != n && !p->bad) {
		p->bad = 1;
		umpa_err_set(&p->err, UMPA_EIO, "out: write failed");
	}
	if (p->echo) {
		int64_t k = umpa_tcpe_write(p->ep, d, n, &e);
		if (k != (int64_t)n && !p->bad) {
			p->bad = 1;
			p->err = e;
			if (k >= 0)
				umpa_err_set(&p->err, UMPA_EIO, "echo: send buffer full");
		}
	}
}

static int send_file_(struct peer *p, struct umpa_err *e)
{
	FILE *f = fopen(p->send, "rb");
	uint8_t buf[65536];
	size_t k;

	if (!f)
		return umpa_err_set(e, UMPA_EIO, "send=%s: cannot open", p->send);
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0) {
		int64_t r = umpa_tcpe_write(p->ep, buf, k, e);
		if (r != (int64_t)k) {
			fclose(f);
			return r < 0 ? (int)r : umpa_err_set(e, UMPA_EIO, "send: send buffer full");
		}
	}
	fclose(f);
	return umpa_tcpe_shutdown(p->ep, e);
}

static void event_(void *arg, enum umpa_tcpe_event ev)
{
	struct peer *p = arg;
	struct umpa_err e = {0};

	switch (ev) {
	case UMPA_TCPE_CONNECTED:
		if (p->send && send_file_(p, &e) < 0 && !p->bad) {
			p->bad = 1;
			p->err = e;
		}
		break;
	case UMPA_TCPE_EOF:
		if (p->echo && umpa_tcpe_shutdown(p->ep, &e) < 0 && !p->bad) {
			p->bad = 1;
			p->err = e;
		}
		break;
	case UMPA_TCPE_CLOSED:
		p->over = 1;
		break;
	case UMPA_TCPE_RESET:
	case UMPA_TCPE_TIMEOUT:
		if (!p->bad) {
			p->bad = 1;
			umpa_err_set(&p->err, UMPA_EIO, "connection %s", ev == UMPA_TCPE_RESET ? "reset" : "timed out");
		}
		p->over = 1;
		break;
	default:
		break;
	}
}

static void captured_(struct umpa_pkt *pkt, void *arg)
{
	struct peer *p = arg;
	struct umpa_err e = {0};

	if (p->drop > 0 && u01_(p) < p->drop) {
		p->dropped_in++;
		return;
	}
	umpa_dissect(pkt);
	if (p->w && umpa_capw_write(p->w, pkt, &e) < 0 && !p->bad) {
		p->bad = 1;
		p->err = e;
	}
	if (umpa_tcpe_input(p->ep, pkt, &e) < 0 && !p->bad) {
		p->bad = 1;
		p->err = e;
	}
}

static void readable_(struct umpa_loop *l, int fd, unsigned what, void *arg)
{
	struct peer *p = arg;
	struct umpa_err e = {0};

	(void)fd;
	(void)what;
	if (umpa_cap_dispatch(p->cap, -1, captured_, p, &e) < 0 && !p->bad) {
		p->bad = 1;
		p->err = e;
	}
	if (p->bad)
		umpa_loop_break(l);
}

static int done_(void *arg)
{
	struct peer *p = arg;
	enum umpa_tcpe_state st = umpa_tcpe_state(p->ep);

	return p->over || p->bad || st == UMPA_TCPE_ST_TIME_WAIT;
}

static int parse_mac_(const char *s, uint8_t m[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct peer p = {0};
	struct umpa_tcpe_opts o;
	struct umpa_tcpe_cbs cb = {emit_, data_, event_, &p};
	struct umpa_cap_opts co;
	struct umpa_tcpe_stats st;
	struct umpa_err e = {0};
	const char *out = NULL, *pcap = NULL;
	char filter[160];
	double timeout = 30;
	int listen_mode, rc = 1;

	if (argc < 9 || (strcmp(argv[2], "listen") && strcmp(argv[2], "connect"))) {
		fprintf(stderr, "usage: tcpend_peer IFACE listen|connect LOCAL_IP LOCAL_PORT LOCAL_MAC REMOTE_IP "
				"REMOTE_PORT REMOTE_MAC [send=FILE] [out=FILE] [echo=1] [drop=P] [seed=N] [timeout=S] "
				"[pcap=FILE]\n");
		return 2;
	}
	listen_mode = !strcmp(argv[2], "listen");
	umpa_tcpe_opts_init(&o);
	o.ipv6 = strchr(argv[3], ':') != NULL;
	o.sndbuf = 64u << 20;
	o.timewait_us = 100000;
	if (inet_pton(o.ipv6 ? AF_INET6 : AF_INET, argv[3], o.addr[0]) != 1 ||
	    inet_pton(o.ipv6 ? AF_INET6 : AF_INET, argv[6], o.addr[1]) != 1) {
		fprintf(stderr, "tcpend_peer: bad address '%s' or '%s'\n", argv[3], argv[6]);
		return 2;
	}
	o.port[0] = (uint16_t)atoi(argv[4]);
	o.port[1] = (uint16_t)atoi(argv[7]);
	if (parse_mac_(argv[5], o.mac[0]) < 0 || parse_mac_(argv[8], o.mac[1]) < 0) {
		fprintf(stderr, "tcpend_peer: bad MAC '%s' or '%s'\n", argv[5], argv[8]);
		return 2;
	}
	for (int i = 9; i < argc; i++) {
		if (!strncmp(argv[i], "send=", 5))
			p.send = argv[i] + 5;
		else if (!strncmp(argv[i], "out=", 4))
			out = argv[i] + 4;
		else if (!strcmp(argv[i], "echo=1"))
			p.echo = 1;
		else if (!strncmp(argv[i], "drop=", 5))
			p.drop = atof(argv[i] + 5);
		else if (!strncmp(argv[i], "seed=", 5))
			o.seed = p.rng = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "timeout=", 8))
			timeout = atof(argv[i] + 8);
		else if (!strncmp(argv[i], "pcap=", 5))
			pcap = argv[i] + 5;
		else {
			fprintf(stderr, "tcpend_peer: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (out && !(p.out = fopen(out, "wb"))) {
		fprintf(stderr, "tcpend_peer: out=%s: cannot create\n", out);
		return 1;
	}
	snprintf(filter, sizeof(filter), "tcp and dst host %s and dst port %s", argv[3], argv[4]);
	umpa_cap_opts_init(&co);
	co.filter = filter;
	co.dir = UMPA_DIR_IN;
	co.snaplen = 2048; /* small ring slots: a whole window of segments fits */
	co.bufsize = 8 << 20;
	if (!(p.loop = umpa_loop_new(UMPA_CLOCK_LIVE, &e)) || !(p.cap = umpa_cap_open(argv[1], &co, &e)) ||
	    !(p.inj = umpa_inj_open(argv[1], 2, &e)) ||
	    (pcap && !(p.w = umpa_capw_open(pcap, UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e))) ||
	    !(p.ep = umpa_tcpe_new(p.loop, &o, &cb, &e)) ||
	    !umpa_loop_add_fd(p.loop, umpa_cap_fd(p.cap), UMPA_FD_READ, readable_, &p, &e) ||
	    (listen_mode ? umpa_tcpe_listen(p.ep, &e) : umpa_tcpe_connect(p.ep, &e)) < 0) {
		fprintf(stderr, "tcpend_peer: %s\n", e.msg);
		goto out;
	}
	if (umpa_loop_run_until(p.loop, done_, &p, umpa_loop_now_ns(p.loop) + (int64_t)(timeout * 1e9), &e) < 0) {
		fprintf(stderr, "tcpend_peer: %s\n", e.msg);
		goto out;
	}
	umpa_tcpe_stats(p.ep, &st);
	printf("state %s in %llu out %llu bytes_in %llu bytes_out %llu retransmits %llu rto %llu fast %llu ooo %llu "
	       "dupacks %llu bad %llu probes %llu srtt_us %u dropped_in %llu dropped_out %llu\n",
	       umpa_tcpe_state_name(umpa_tcpe_state(p.ep)), (unsigned long long)st.segs_in,
	       (unsigned long long)st.segs_out, (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
	       (unsigned long long)st.retransmits, (unsigned long long)st.rto_expiries,
	       (unsigned long long)st.fast_retransmits, (unsigned long long)st.ooo_segs_in,
	       (unsigned long long)st.dup_acks_in, (unsigned long long)st.bad_in, (unsigned long long)st.window_probes,
	       st.srtt_us, (unsigned long long)p.dropped_in, (unsigned long long)p.dropped_out);
	if (p.bad)
		fprintf(stderr, "tcpend_peer: %s\n", p.err.msg);
	else if (!done_(&p))
		fprintf(stderr, "tcpend_peer: not over after %g s (state %s)\n", timeout,
			umpa_tcpe_state_name(umpa_tcpe_state(p.ep)));
	else
		rc = 0;
out:
	umpa_tcpe_free(p.ep);
	if (p.w && umpa_capw_close(p.w, &e) < 0 && rc == 0) {
		fprintf(stderr, "tcpend_peer: pcap: %s\n", e.msg);
		rc = 1;
	}
	umpa_inj_close(p.inj);
	umpa_cap_close(p.cap);
	umpa_loop_free(p.loop);
	if (p.out && fclose(p.out) != 0 && rc == 0) {
		fprintf(stderr, "tcpend_peer: out: write failed\n");
		rc = 1;
	}
	return rc;
}
