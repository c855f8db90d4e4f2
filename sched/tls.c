/* tls.c - the TLS pump (see umpa_tls.h).  Work in progress: stubs. */
#include <string.h>

#include "umpa_tls.h"

void umpa_tls_opts_init(struct umpa_tls_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->side[0].security_level = -1;
	o->side[1].security_level = -1;
	o->verify = 1;
	umpa_tcps_opts_init(&o->tcp);
}

struct umpa_tls *umpa_tls_new(const struct umpa_tls_opts *o, struct umpa_err *e)
{
	(void)o;
	umpa_err_set(e, UMPA_ENOSYS, "tls: not implemented yet");
	return NULL;
}

struct umpa_tls *umpa_tls_free(struct umpa_tls *t)
{
	(void)t;
	return NULL;
}
