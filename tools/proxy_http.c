/* proxy_http.c - the proxy's counters as a source of the HTTP control plane (see proxy_http.h). */
#include "proxy_http.h"
#include "umpa_proxy.h"
#include "umpa_sched.h"

static int proxy_stats_json(void *arg, struct umpa_sbuf *b)
{
	struct umpa_proxy_stats st;

	umpa_proxy_stats(arg, &st);
	umpa_sbuf_printf(
	    b,
	    "{\"conns.accepted\":%llu,\"conns.active\":%llu,\"conns.completed\":%llu,"
	    "\"conns.refused\":%llu,\"conns.aborted\":%llu,\"conns.resets\":%llu,\"conns.errors\":%llu,"
	    "\"conns.over_limit\":%llu,\"tls.intercepted\":%llu,\"tls.failed\":%llu,"
	    "\"c2s.bytes_in\":%llu,\"c2s.bytes_out\":%llu,\"s2c.bytes_in\":%llu,\"s2c.bytes_out\":%llu}",
	    (unsigned long long)st.accepted, (unsigned long long)st.active, (unsigned long long)st.completed,
	    (unsigned long long)st.refused, (unsigned long long)st.aborted, (unsigned long long)st.resets,
	    (unsigned long long)st.errors, (unsigned long long)st.over_limit, (unsigned long long)st.tls,
	    (unsigned long long)st.tls_failed, (unsigned long long)st.bytes_in[UMPA_PROXY_C2S],
	    (unsigned long long)st.bytes_out[UMPA_PROXY_C2S], (unsigned long long)st.bytes_in[UMPA_PROXY_S2C],
	    (unsigned long long)st.bytes_out[UMPA_PROXY_S2C]);
	return b->oom ? -UMPA_ENOMEM : 0;
}

struct http_ctl *proxy_http_open(struct umpa_loop *loop, struct umpa_proxy *p, const struct http_ctl_opts *o,
				 struct umpa_err *e)
{
	const struct http_ctl_source src = {.arg = p, .stats_json = proxy_stats_json};

	return http_ctl_new(umpa_loop_event_base(loop), o, &src, e);
}
