/* replay_modes.c - `umpa replay`: the kernel-RST guard for stateful TCP and the --audit mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_guard.h"
#include "replay_modes.h"
#include "umpa_cursor.h"
#include "umpa_protos.h"
#include "umpa_replay_audit.h"
#include "umpa_replay_tcp.h"
#include "umpa_tool.h"

/** Most tuples the guard lists (flows times connections): past it, later connections may be reset. */
#define GUARD_MAX_TUPLES 200000

struct replay_guard *replay_tcp_guard(const struct umpa_replay_cap *cap, uint64_t nconn)
{
	uint64_t want = (uint64_t)cap->nflows * (nconn ? nconn : 1);
	size_t cap_n = (size_t)(want < GUARD_MAX_TUPLES ? want : GUARD_MAX_TUPLES);
	struct replay_guard_flow *fl = calloc(cap_n ? cap_n : 1, sizeof(*fl));
	struct replay_guard *g = NULL;
	struct umpa_pkt p;
	struct umpa_err e = {0};
	char how[256];
	size_t n = 0;

	if (!fl)
		return NULL;
	umpa_pkt_init(&p);
	/* each TCP flow's first packet we send, as rewritten: its source is our end */
	for (uint32_t f = 0; f < cap->nflows; f++) {
		const struct umpa_replay_flow *rf = &cap->flows[f];
		int opener;     /* our first packet opens the flow: later connections renew its port */
		int peer_opens; /* the peer's SYN first: it opens each connection from a port it chooses */
		if (rf->kind != UMPA_FLOW_TCP)
			continue;
		opener = cap->pkts[rf->first].role == UMPA_ROLE_SEND && cap->pkts[rf->first].side == UMPA_SIDE_CLIENT;
		peer_opens =
		    cap->pkts[rf->first].role != UMPA_ROLE_SEND && cap->pkts[rf->first].side == UMPA_SIDE_CLIENT;
		for (uint32_t i = rf->first; i <= rf->last && i < cap->npkts && n < cap_n; i++) {
			const struct umpa_replay_pkt *rp = &cap->pkts[i];
			int l3, l4;
			struct umpa_cur c;
			const uint8_t *s, *d;
			uint16_t sp, dp;
			size_t alen;
			if (rp->flow != f || rp->role != UMPA_ROLE_SEND)
				continue;
			umpa_replay_cap_pkt(cap, i, &p);
			l4 = umpa_pkt_find(&p, &umpa_proto_tcp, 0);
			l3 = umpa_pkt_find(&p, &umpa_proto_ip, 0);
			fl[n].ipv6 = l3 < 0;
			if (l3 < 0)
				l3 = umpa_pkt_find(&p, &umpa_proto_ipv6, 0);
			if (l3 < 0 || l4 < 0)
				break;
			alen = fl[n].ipv6 ? 16 : 4;
			umpa_layer_cur(&p, (unsigned)l3, &c);
			if (umpa_cur_ptr_at(&c, fl[n].ipv6 ? 8 : 12, alen, &s) < 0 ||
			    umpa_cur_ptr_at(&c, fl[n].ipv6 ? 24 : 16, alen, &d) < 0)
				break;
			umpa_layer_cur(&p, (unsigned)l4, &c);
			if (umpa_cur_be16_at(&c, 0, &sp) < 0 || umpa_cur_be16_at(&c, 2, &dp) < 0)
				break;
			memcpy(fl[n].laddr, s, alen);
			memcpy(fl[n].raddr, d, alen);
			fl[n].lport = sp;
			fl[n].rport = peer_opens ? 0 : dp; /* 0: whatever port the peer opens from */
			n++;
			/* the later connections of a flow we open come from their own ports (sched/replay_tcp_drv.c) */
			for (uint64_t k = 1; opener && k < nconn && n < cap_n; k++) {
				uint16_t lp = umpa_replay_tcp_port(cap, f, sp, k);
				if (lp == sp)
					break;
				fl[n] = fl[n - 1];
				fl[n].lport = lp;
				n++;
			}
			break;
		}
	}
	umpa_pkt_release(&p);
	if (replay_guard_on(fl, n, &g, how, sizeof(how), &e) < 0)
		tool_note("replay: %s", e.msg);
	else if (how[0])
		tool_note("replay: %s", how);
	free(fl);
	return g;
}

struct audit_out {
	const struct umpa_replay_cap *cap;
	struct umpa_replay_report *rep;
	enum umpa_replay_fmt fmt;
	int verbose;
	struct umpa_sbuf line;
	int oom;
};

static void audit_result(void *arg, const struct umpa_replay_result *res)
{
	struct audit_out *o = arg;

	if (umpa_replay_report_add(o->rep, res) < 0)
		o->oom = 1;
	umpa_sbuf_reset(&o->line);
	umpa_replay_format_result(o->cap, res, o->fmt, o->verbose, &o->line);
	if (o->line.len && !o->line.oom)
		fwrite(o->line.s, 1, o->line.len, stdout);
}

int replay_audit_cmd(const struct umpa_replay_cap *cap, int64_t timeout_ns, enum umpa_replay_fmt fmt, int verbose,
		     const char *junit, const char *file)
{
	struct audit_out o = {.cap = cap, .fmt = fmt, .verbose = verbose};
	struct umpa_replay_audit_opts ao = {.timeout_ns = timeout_ns};
	struct umpa_replay_summary sum;
	struct umpa_err e = {0};
	int rc = UMPA_EXIT_ERROR;

	if (!(o.rep = umpa_replay_report_new(cap, &e)))
		goto fail;
	if (umpa_replay_audit(cap, &ao, audit_result, &o, &e) < 0)
		goto fail;
	if (o.oom) {
		umpa_err_set(&e, UMPA_ENOMEM, "out of memory");
		goto fail;
	}
	umpa_replay_report_summary(o.rep, &sum);
	umpa_sbuf_reset(&o.line);
	umpa_replay_format_summary(&sum, fmt, &o.line);
	if (fmt != UMPA_REPLAY_JSON)
		printf("audited %u packets of %s: %u requests, answers timed against %.6g s\n", cap->npkts, file,
		       cap->nsend, (double)(timeout_ns > 0 ? timeout_ns : 1000000000) / 1e9);
	fwrite(o.line.s ? o.line.s : "", 1, o.line.len, stdout);
	if (junit && replay_write_junit(o.rep, file, junit, &e) < 0)
		goto fail;
	rc = replay_exit_status(&sum);
	goto out;
fail:
	tool_err("replay: --audit %s: %s", file, e.msg);
out:
	umpa_replay_report_free(o.rep);
	umpa_sbuf_free(&o.line);
	return rc;
}

int replay_write_junit(const struct umpa_replay_report *rep, const char *suite, const char *path, struct umpa_err *e)
{
	struct umpa_sbuf x = {0};
	FILE *f = NULL;
	int ok;

	umpa_replay_report_junit(rep, suite, &x);
	ok = !x.oom && x.s && (f = fopen(path, "w")) != NULL && fwrite(x.s, 1, x.len, f) == x.len;
	if (f && fclose(f) != 0)
		ok = 0;
	umpa_sbuf_free(&x);
	if (!ok) {
		umpa_err_set(e, UMPA_EIO, "--junit %s: cannot write it", path);
		return -1;
	}
	return 0;
}

int replay_exit_status(const struct umpa_replay_summary *sum)
{
	return sum->exchanges != sum->verdicts[UMPA_RV_MATCHED] + sum->verdicts[UMPA_RV_SENT] ? UMPA_EXIT_ERROR
											      : UMPA_EXIT_OK;
}
