/* live.c - placeholder bodies for the live I/O API (core/umpa_live.h).
 *
 * Every function fails with UMPA_ENOSYS until the real capture, injection,
 * interface, neighbour and privilege code lands in core/live_*.c.  It exists so
 * the scheduler and expect engine can compile and link against the API now.
 */
#include <stdlib.h>
#include <string.h>

#include "umpa_live.h"

static int live_nosys_(struct umpa_err *e, const char *what)
{
	return umpa_err_set(e, UMPA_ENOSYS, "%s: not implemented yet", what);
}

int umpa_ifaces(struct umpa_iface **list, size_t *n, struct umpa_err *e)
{
	*list = NULL;
	*n = 0;
	return live_nosys_(e, "interfaces");
}

struct umpa_iface *umpa_ifaces_free(struct umpa_iface *list)
{
	free(list);
	return NULL;
}

int umpa_iface_get(const char *name, struct umpa_iface *out, struct umpa_err *e)
{
	memset(out, 0, sizeof *out);
	return live_nosys_(e, name);
}

void umpa_iface_flags_str(unsigned flags, char *buf, size_t n)
{
	if (n)
		buf[0] = '\0';
}

void umpa_cap_opts_init(struct umpa_cap_opts *o)
{
	memset(o, 0, sizeof *o);
	o->snaplen = 262144;
	o->nsec = 1;
	o->immediate = 1;
	o->timeout_ms = 100;
}

struct umpa_cap *umpa_cap_open(const char *ifname, const struct umpa_cap_opts *o, struct umpa_err *e)
{
	live_nosys_(e, ifname);
	return NULL;
}

int umpa_cap_fd(const struct umpa_cap *c)
{
	return -1;
}
int umpa_cap_linktype(const struct umpa_cap *c)
{
	return -1;
}
int umpa_cap_nsec(const struct umpa_cap *c)
{
	return 0;
}
const char *umpa_cap_ifname(const struct umpa_cap *c)
{
	return "";
}
int umpa_cap_setfilter(struct umpa_cap *c, const char *filter, struct umpa_err *e)
{
	return live_nosys_(e, "capture");
}
int umpa_cap_dispatch(struct umpa_cap *c, int max, umpa_cap_cb cb, void *arg, struct umpa_err *e)
{
	return live_nosys_(e, "capture");
}
void umpa_cap_breakloop(struct umpa_cap *c)
{
}
int umpa_cap_stats(struct umpa_cap *c, struct umpa_cap_stats *st, struct umpa_err *e)
{
	return live_nosys_(e, "capture");
}
struct umpa_cap *umpa_cap_close(struct umpa_cap *c)
{
	return NULL;
}

struct umpa_inj *umpa_inj_open(const char *ifname, int layer, struct umpa_err *e)
{
	live_nosys_(e, "injection");
	return NULL;
}
int umpa_inj_send(struct umpa_inj *j, const struct umpa_pkt *p, struct umpa_err *e)
{
	return live_nosys_(e, "injection");
}
int umpa_inj_send_batch(struct umpa_inj *j, struct umpa_pkt *const *pkts, unsigned n, struct umpa_err *e)
{
	return live_nosys_(e, "injection");
}
void umpa_inj_stats(const struct umpa_inj *j, struct umpa_inj_stats *st)
{
	memset(st, 0, sizeof *st);
}
const char *umpa_inj_backend(const struct umpa_inj *j)
{
	return "none";
}
struct umpa_inj *umpa_inj_close(struct umpa_inj *j)
{
	return NULL;
}

int umpa_neigh_lookup(const char *ifname, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
	return live_nosys_(e, "neighbours");
}

int umpa_drop_privileges(const char *user, struct umpa_err *e)
{
	return live_nosys_(e, "privileges");
}
