/* toxi_api.c - the Toxiproxy-compatible API (toxi_api.h) over http_ctl.
 *
 * Shapes follow Toxiproxy 2.x's api.go and toxic_collection.go: a proxy is
 * {"name", "listen", "upstream", "enabled", "toxics": [...]}, a toxic
 * {"attributes": {...}, "name", "type", "stream", "toxicity"}.  POST
 * /proxies answers 201, a new toxic 200, DELETE and /reset 204 with no
 * body.  Extensions are new fields only: "protocol": "udp" on a proxy,
 * "schedule" and "match" on a toxic, "umpa" in /version.  Stricter than
 * Toxiproxy where it helps: an unknown attribute or an out-of-range value
 * is a 400 naming it (Toxiproxy ignores the one and takes the other).
 */
#include "toxi_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "config.h"
#include "umpa_proxy.h"
#include "umpa_proxy_lua.h"
#include "umpa_toxics.h"
#include "umpa_udprelay.h"
#include "umpa_tool.h"

#define TOXI_VERSION "2.12.0" /* the Toxiproxy API level this follows */

struct tproxy {
	struct toxi_api *a;
	struct tproxy *next;
	char name[128];
	char listen[160];
	char upstream[300];
	int enabled;
	int udp;
	struct umpa_proxy *p;
	struct umpa_udprelay *u;
	struct umpa_toxics *tx;
	struct umpa_timer *tick;          /* UDP with scheduled toxics: the impairment follows the time */
	uint64_t base_in[2], base_out[2]; /* counters of earlier runs (the proxy restarts on changes) */
	struct tlua {
		char name[128];
		struct umpa_proxy_mods *m;
	} lua[UMPA_TOXICS_MAX]; /* the Lua hosts of its lua toxics */
	size_t nlua;
};

struct toxi_api {
	struct umpa_loop *loop;
	struct http_ctl *ctl;
	struct tproxy *list;
	const char *const *modfiles; /* --module-file: loaded into each lua toxic's host */
	size_t nmodfiles;
};

/* Free the Lua host of toxic @p name (after the toxic left the set), or every one (NULL). */
static void lua_drop(struct tproxy *t, const char *name)
{
	for (size_t i = 0; i < t->nlua;) {
		if (!name || !strcmp(t->lua[i].name, name)) {
			umpa_proxy_mods_free(t->lua[i].m);
			t->lua[i] = t->lua[--t->nlua];
		} else {
			i++;
		}
	}
}

static void lua_log(void *arg, const char *text)
{
	(void)arg;
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A lua toxic: a Lua host of its own with the module files and the chain, its hooks into the set. */
static int lua_add(struct tproxy *t, const struct umpa_toxic_def *d, struct umpa_err *e)
{
	struct toxi_api *a = t->a;
	struct umpa_proxy_mods *m;
	struct umpa_proxy_hooks h;
	if (t->nlua >= UMPA_TOXICS_MAX)
		return umpa_err_set(e, UMPA_ERANGE, "at most %d toxics on a proxy", UMPA_TOXICS_MAX);
	if (!(m = umpa_proxy_mods_new(lua_log, NULL, e)))
		return -e->code;
	for (size_t i = 0; i < a->nmodfiles; i++) {
		const char *f = a->modfiles[i], *base = strrchr(f, '/');
		char name[256];
		size_t len, nl;
		char *src = tool_read_file(f, &len, e);
		base = base ? base + 1 : f;
		nl = strlen(base);
		if (nl > 4 && !strcmp(base + nl - 4, ".lua"))
			nl -= 4;
		snprintf(name, sizeof(name), "%.*s", (int)nl, base);
		if (!src || umpa_proxy_mods_load(m, name, src, len, f, e) < 0) {
			free(src);
			umpa_proxy_mods_free(m);
			return -UMPA_EINVAL;
		}
		free(src);
	}
	if (umpa_proxy_mods_chain(m, (int)d->dir, d->text, e) < 0) {
		umpa_proxy_mods_free(m);
		return -UMPA_EINVAL;
	}
	umpa_proxy_mods_hooks(m, &h);
	if (umpa_toxics_add_hooks(t->tx, d, &h, e) < 0) {
		umpa_proxy_mods_free(m);
		return -e->code;
	}
	snprintf(t->lua[t->nlua].name, sizeof(t->lua[0].name), "%s", d->name);
	t->lua[t->nlua++].m = m;
	return 0;
}

static const char *const stream_name[2] = {"upstream", "downstream"};

/* ---- proxies ---- */

static void udp_apply(struct tproxy *t)
{
	struct umpa_impair_cfg c;
	struct umpa_err e = {0, ""};
	for (int d = 0; d < 2; d++) {
		umpa_toxics_impair_cfg(t->tx, (enum umpa_proxy_dir)d, &c);
		umpa_udprelay_set(t->u, d, &c, &e);
	}
	umpa_udprelay_refresh(t->u); /* the sessions a client match picks */
}

static void udp_tick(struct umpa_loop *loop, void *arg)
{
	(void)loop;
	udp_apply(arg);
}

/* Toxics changed: a UDP relay takes its new impairment (and a tick while any is scheduled). */
static void toxics_changed(struct tproxy *t)
{
	struct umpa_err e = {0, ""};
	if (!t->u)
		return;
	udp_apply(t);
	if (umpa_toxics_scheduled(t->tx) && !t->tick)
		t->tick = umpa_every(t->a->loop, 20000000, udp_tick, t, &e);
	else if (!umpa_toxics_scheduled(t->tx) && t->tick) {
		umpa_timer_cancel(t->tick);
		t->tick = NULL;
	}
}

static void proxy_counters(const struct tproxy *t, uint64_t in[2], uint64_t out[2])
{
	for (int d = 0; d < 2; d++) {
		in[d] = t->base_in[d];
		out[d] = t->base_out[d];
	}
	if (t->p) {
		struct umpa_proxy_stats st;
		umpa_proxy_stats(t->p, &st);
		for (int d = 0; d < 2; d++) {
			in[d] += st.bytes_in[d];
			out[d] += st.bytes_out[d];
		}
	} else if (t->u) {
		struct umpa_udprelay_stats st;
		umpa_udprelay_stats(t->u, &st);
		for (int d = 0; d < 2; d++) {
			in[d] += st.bytes_in[d];
			out[d] += st.bytes_out[d];
		}
	}
}

static void proxy_stop(struct tproxy *t)
{
	proxy_counters(t, t->base_in, t->base_out);
	umpa_timer_cancel(t->tick);
	t->tick = NULL;
	if (t->tx)
		umpa_toxics_attach(t->tx, NULL);
	t->p = umpa_proxy_free(t->p);
	t->u = umpa_udprelay_free(t->u);
}

/* Listen addresses as Toxiproxy takes them: "localhost:P" and ":P" mean loopback here. */
static void listen_norm(const char *in, char *out, size_t n)
{
	if (!in || !*in)
		snprintf(out, n, "127.0.0.1:0");
	else if (!strncmp(in, "localhost:", 10))
		snprintf(out, n, "127.0.0.1:%s", in + 10);
	else if (in[0] == ':')
		snprintf(out, n, "127.0.0.1%s", in);
	else
		snprintf(out, n, "%s", in);
}

/* Start @p t on its listen address; the listen field becomes the bound address.  0 or -code. */
static int proxy_start(struct tproxy *t, struct umpa_err *e)
{
	char b[160];
	if (t->udp) {
		struct umpa_udprelay_opts o;
		struct umpa_proxy_hooks h;
		umpa_udprelay_opts_init(&o);
		o.listen = t->listen;
		o.target = t->upstream;
		umpa_toxics_udp_hooks(t->tx, &h); /* client matches and lua toxics, per session and datagram */
		o.hooks = &h;
		o.session_cfg = umpa_toxics_session_cfg;
		if (!(t->u = umpa_udprelay_new(t->a->loop, &o, e)))
			return -e->code;
		snprintf(t->listen, sizeof(t->listen), "%s", umpa_udprelay_bound(t->u, b, sizeof(b)));
		toxics_changed(t);
	} else {
		struct umpa_proxy_opts o;
		struct umpa_proxy_hooks h;
		umpa_proxy_opts_init(&o);
		o.listen[0] = t->listen;
		o.nlisten = 1;
		o.target = t->upstream;
		umpa_toxics_hooks(t->tx, &h);
		if (!(t->p = umpa_proxy_new(t->a->loop, &o, &h, e)))
			return -e->code;
		umpa_toxics_attach(t->tx, t->p);
		snprintf(t->listen, sizeof(t->listen), "%s", umpa_proxy_bound(t->p, 0, b, sizeof(b)));
	}
	return 0;
}

static struct tproxy *proxy_find(struct toxi_api *a, const char *name)
{
	for (struct tproxy *t = a->list; t; t = t->next)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static void proxy_unlink_free(struct toxi_api *a, struct tproxy *t)
{
	for (struct tproxy **pp = &a->list; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	proxy_stop(t);
	umpa_toxics_free(t->tx);
	lua_drop(t, NULL);
	free(t);
}

/* ---- JSON out ---- */

static json_t *toxic_json(const struct umpa_toxic_def *d)
{
	const struct umpa_toxic_kind *k = umpa_toxic_kind(d->type);
	json_t *o = json_object(), *at = json_object();
	if (d->type == UMPA_TOXIC_HOOKS)
		json_object_set_new(at, "chain", json_string(d->text));
	for (unsigned i = 0; i < k->nattrs; i++)
		json_object_set_new(at, k->attrs[i].name,
				    k->attrs[i].real ? json_real(d->attr[i]) : json_integer((json_int_t)d->attr[i]));
	json_object_set_new(o, "attributes", at);
	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "type", json_string(k->name));
	json_object_set_new(o, "stream", json_string(stream_name[d->dir]));
	json_object_set_new(o, "toxicity", json_real(d->toxicity));
	if (d->has_schedule) {
		json_t *s = json_object();
		json_object_set_new(s, "start", json_integer(d->start_ms));
		json_object_set_new(s, "duration", json_integer(d->duration_ms));
		if (d->on_ms) {
			json_object_set_new(s, "on", json_integer(d->on_ms));
			json_object_set_new(s, "off", json_integer(d->off_ms));
		}
		json_object_set_new(o, "schedule", s);
	}
	if (d->match_client[0] || d->match_sni[0] || d->match_host[0]) {
		json_t *m = json_object();
		if (d->match_client[0])
			json_object_set_new(m, "client", json_string(d->match_client));
		if (d->match_sni[0])
			json_object_set_new(m, "sni", json_string(d->match_sni));
		if (d->match_host[0])
			json_object_set_new(m, "host", json_string(d->match_host));
		json_object_set_new(o, "match", m);
	}
	return o;
}

static json_t *toxics_json(const struct tproxy *t)
{
	json_t *arr = json_array();
	const struct umpa_toxic_def *d;
	/* Toxiproxy lists the upstream chain, then the downstream one */
	for (int dir = 0; dir < 2; dir++)
		for (size_t i = 0; (d = umpa_toxics_get(t->tx, i)); i++)
			if ((int)d->dir == dir)
				json_array_append_new(arr, toxic_json(d));
	return arr;
}

static json_t *proxy_json(const struct tproxy *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "listen", json_string(t->listen));
	json_object_set_new(o, "upstream", json_string(t->upstream));
	json_object_set_new(o, "enabled", json_boolean(t->enabled));
	if (t->udp)
		json_object_set_new(o, "protocol", json_string("udp"));
	json_object_set_new(o, "toxics", toxics_json(t));
	return o;
}

static void reply_json(struct evhttp_request *req, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s)
		http_ctl_reply(req, status, s, strlen(s));
	else
		http_ctl_error(req, 500, "out of memory");
	free(s);
	json_decref(j);
}

static void reply_empty(struct evhttp_request *req)
{
	evhttp_send_reply(req, 204, "No Content", NULL);
}

/* ---- JSON in ---- */

static json_t *parse_body(struct evhttp_request *req, const char *body, size_t len, int want_array)
{
	json_error_t jerr;
	json_t *j;
	if (!len) {
		http_ctl_error(req, 400, "bad request body: empty (want a JSON %s)", want_array ? "array" : "object");
		return NULL;
	}
	if (!(j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr))) {
		http_ctl_error(req, 400, "bad request body: malformed JSON at line %d column %d: %s", jerr.line,
			       jerr.column, jerr.text);
		return NULL;
	}
	if (want_array ? !json_is_array(j) : !json_is_object(j)) {
		http_ctl_error(req, 400, "bad request body: want a JSON %s", want_array ? "array" : "object");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string field (NULL when absent); -1 when present but not a string. */
static int get_str(json_t *o, const char *key, const char **out, char *err, size_t en)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, en, "bad request body: '%s' must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Proxy fields of @p o into @p t (create: all; update: what is given).  0, or -1 with @p err (a 400). */
static int proxy_fields(json_t *o, char *listen, size_t ln, char *upstream, size_t un, int *enabled, int *udp,
			char *err, size_t en)
{
	const char *l, *u, *proto;
	json_t *v;
	if (get_str(o, "listen", &l, err, en) < 0 || get_str(o, "upstream", &u, err, en) < 0 ||
	    get_str(o, "protocol", &proto, err, en) < 0)
		return -1;
	if (l) {
		if (strlen(l) >= ln - 16) {
			snprintf(err, en, "bad request body: 'listen' is too long");
			return -1;
		}
		listen_norm(l, listen, ln);
	}
	if (u) {
		if (strlen(u) >= un) {
			snprintf(err, en, "bad request body: 'upstream' is too long");
			return -1;
		}
		snprintf(upstream, un, "%s", u);
	}
	if ((v = json_object_get(o, "enabled")) && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			snprintf(err, en, "bad request body: 'enabled' must be true or false");
			return -1;
		}
		*enabled = json_is_true(v);
	}
	if (proto && udp) {
		if (strcmp(proto, "tcp") && strcmp(proto, "udp")) {
			snprintf(err, en, "bad request body: 'protocol' must be \"tcp\" or \"udp\", not \"%s\"", proto);
			return -1;
		}
		*udp = !strcmp(proto, "udp");
	}
	return 0;
}

static int err_status(const struct umpa_err *e)
{
	return e->code == UMPA_EIO || e->code == UMPA_ENOMEM ? 500 : 400;
}

/* Create (or, with @p replace, replace) a proxy from object @p o.  The proxy, or NULL with *status and @p err. */
static struct tproxy *proxy_create(struct toxi_api *a, json_t *o, int replace, int *status, char *err, size_t en)
{
	struct tproxy *t, *old;
	const char *name;
	struct umpa_err e = {0, ""};
	if (get_str(o, "name", &name, err, en) < 0) {
		*status = 400;
		return NULL;
	}
	if (!name || !*name || strlen(name) >= sizeof(t->name) || strchr(name, '/')) {
		snprintf(err, en, "missing required field: name%s",
			 name && *name ? " (at most 127 characters, no '/')" : "");
		*status = 400;
		return NULL;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		snprintf(err, en, "out of memory");
		*status = 500;
		return NULL;
	}
	t->a = a;
	t->enabled = 1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	listen_norm(NULL, t->listen, sizeof(t->listen));
	if (proxy_fields(o, t->listen, sizeof(t->listen), t->upstream, sizeof(t->upstream), &t->enabled, &t->udp, err,
			 en) < 0) {
		*status = 400;
		free(t);
		return NULL;
	}
	if (!t->upstream[0]) {
		snprintf(err, en, "missing required field: upstream");
		*status = 400;
		free(t);
		return NULL;
	}
	if ((old = proxy_find(a, name))) {
		if (!replace) {
			snprintf(err, en, "proxy already exists");
			*status = 409;
			free(t);
			return NULL;
		}
		if (!strcmp(old->upstream, t->upstream) && old->udp == t->udp &&
		    (!strcmp(old->listen, t->listen) ||
		     (strstr(t->listen, ":0") && !strcmp(t->listen + strlen(t->listen) - 2, ":0")))) {
			/* the same proxy: kept, enabled as asked */
			if (old->enabled != t->enabled) {
				if (t->enabled && proxy_start(old, &e) < 0) {
					snprintf(err, en, "%s", e.msg);
					*status = err_status(&e);
					free(t);
					return NULL;
				}
				if (!t->enabled)
					proxy_stop(old);
				old->enabled = t->enabled;
			}
			free(t);
			return old;
		}
		proxy_unlink_free(a, old);
	}
	if (!(t->tx = umpa_toxics_new(a->loop, 0, &e)) || (t->enabled && proxy_start(t, &e) < 0)) {
		snprintf(err, en, "%s", e.msg);
		*status = err_status(&e);
		proxy_stop(t);
		umpa_toxics_free(t->tx);
		free(t);
		return NULL;
	}
	{ /* appended: GET /proxies keeps creation order */
		struct tproxy **pp = &a->list;
		while (*pp)
			pp = &(*pp)->next;
		*pp = t;
	}
	return t;
}

static void proxies_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct toxi_api *a = arg;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	(void)path;
	if (m == EVHTTP_REQ_GET) {
		json_t *o = json_object();
		for (struct tproxy *t = a->list; t; t = t->next)
			json_object_set_new(o, t->name, proxy_json(t));
		reply_json(req, 200, o);
	} else if (m == EVHTTP_REQ_POST) {
		json_t *j = parse_body(req, body, len, 0);
		char err[600];
		int status = 0;
		struct tproxy *t;
		if (!j)
			return;
		if ((t = proxy_create(a, j, 0, &status, err, sizeof(err))))
			reply_json(req, 201, proxy_json(t));
		else
			http_ctl_error(req, status, "%s", err);
		json_decref(j);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		http_ctl_error(req, 405, "/proxies: method not allowed (allowed: GET, POST)");
	}
}

/* POST /populate and --config: every entry checked, then each added or replaced in order. */
static int populate(struct toxi_api *a, json_t *arr, json_t *done, int *status, char *err, size_t en)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		const char *name = NULL, *up = NULL;
		if (!json_is_object(o) || get_str(o, "name", &name, err, en) < 0 ||
		    get_str(o, "upstream", &up, err, en) < 0) {
			if (!json_is_object(o))
				snprintf(err, en, "bad request body: proxy %zu is not an object", i + 1);
			*status = 400;
			return -1;
		}
		if (!name || !*name) {
			snprintf(err, en, "missing required field: name at proxy %zu", i + 1);
			*status = 400;
			return -1;
		}
		if (!up || !*up) {
			snprintf(err, en, "missing required field: upstream at proxy %zu", i + 1);
			*status = 400;
			return -1;
		}
	}
	json_array_foreach(arr, i, o)
	{
		struct tproxy *t = proxy_create(a, o, 1, status, err, en);
		if (!t)
			return -1;
		if (done)
			json_array_append_new(done, proxy_json(t));
	}
	return 0;
}

static void populate_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct toxi_api *a = arg;
	json_t *j, *out, *done;
	char err[600];
	int status = 201;
	(void)path;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		http_ctl_error(req, 405, "/populate: method not allowed (allowed: POST)");
		return;
	}
	if (!(j = parse_body(req, body, len, 1)))
		return;
	out = json_object();
	done = json_array();
	if (populate(a, j, done, &status, err, sizeof(err)) < 0) {
		json_object_set_new(out, "error", json_string(err));
		json_object_set_new(out, "status", json_integer(status));
	}
	json_object_set_new(out, "proxies", done);
	reply_json(req, status, out);
	json_decref(j);
}

/* ---- toxics ---- */

/* Fill @p d from object @p o: the whole definition on create, the given fields on update.  0, or -1 with
 * *status (400 or 409) and @p err. */
static int toxic_fields(const struct tproxy *t, json_t *o, struct umpa_toxic_def *d, int create, int *status, char *err,
			size_t en)
{
	json_t *v, *x;
	const char *key, *s;
	struct umpa_err e = {0, ""};
	*status = 400;
	if (create) {
		enum umpa_toxic_type type;
		const char *stream = "downstream", *name;
		if (get_str(o, "type", &s, err, en) < 0)
			return -1;
		if (!s || umpa_toxic_type_parse(s, &type) < 0) {
			snprintf(err, en, "invalid toxic type%s%s%s", s ? ": '" : "", s ? s : "", s ? "'" : "");
			return -1;
		}
		umpa_toxic_def_init(d, type);
		if (get_str(o, "stream", &s, err, en) < 0)
			return -1;
		if (s && *s)
			stream = s;
		if (strcmp(stream, "upstream") && strcmp(stream, "downstream")) {
			snprintf(err, en, "stream was invalid, can be either upstream or downstream");
			return -1;
		}
		d->dir = strcmp(stream, "upstream") ? UMPA_PROXY_S2C : UMPA_PROXY_C2S;
		if (get_str(o, "name", &name, err, en) < 0)
			return -1;
		if (name && (strlen(name) >= sizeof(d->name) || strchr(name, '/'))) {
			snprintf(err, en, "bad request body: 'name' must be at most 127 characters, no '/'");
			return -1;
		}
		if (name && *name)
			snprintf(d->name, sizeof(d->name), "%s", name);
		else
			snprintf(d->name, sizeof(d->name), "%s_%s", umpa_toxic_kind(type)->name, stream);
		if (t->udp ? !umpa_toxic_kind(type)->udp : !umpa_toxic_kind(type)->tcp) {
			snprintf(err, en, "invalid toxic type: '%s' is not for %s proxies", umpa_toxic_kind(type)->name,
				 t->udp ? "UDP" : "TCP");
			return -1;
		}
	}
	if ((v = json_object_get(o, "toxicity")) && !json_is_null(v)) {
		if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
			snprintf(err, en, "toxicity: want a number from 0 to 1");
			return -1;
		}
		d->toxicity = json_number_value(v);
	}
	if ((v = json_object_get(o, "attributes")) && !json_is_null(v)) {
		if (!json_is_object(v)) {
			snprintf(err, en, "bad request body: 'attributes' must be an object");
			return -1;
		}
		json_object_foreach(v, key, x)
		{
			if (d->type == UMPA_TOXIC_HOOKS) {
				if (strcmp(key, "chain") || !json_is_string(x) ||
				    strlen(json_string_value(x)) >= sizeof(d->text) || !create) {
					snprintf(err, en, "lua: %s",
						 !create
						     ? "the chain is set when the toxic is made"
						     : "the one attribute is 'chain' (text: 'module:key=value,...')");
					return -1;
				}
				snprintf(d->text, sizeof(d->text), "%s", json_string_value(x));
				continue;
			}
			if (!json_is_number(x)) {
				snprintf(err, en, "%s: attribute '%s' must be a number", umpa_toxic_kind(d->type)->name,
					 key);
				return -1;
			}
			if (umpa_toxic_def_attr(d, key, json_number_value(x), &e) < 0) {
				snprintf(err, en, "%s", e.msg);
				return -1;
			}
		}
	}
	if ((v = json_object_get(o, "schedule")) && !json_is_null(v)) {
		int64_t *f[4] = {&d->start_ms, &d->duration_ms, &d->on_ms, &d->off_ms};
		static const char *const fn[4] = {"start", "duration", "on", "off"};
		if (!json_is_object(v)) {
			snprintf(err, en, "schedule: want an object {start, duration, on, off} (milliseconds)");
			return -1;
		}
		d->has_schedule = 1;
		json_object_foreach(v, key, x)
		{
			int k;
			for (k = 0; k < 4 && strcmp(key, fn[k]); k++)
				;
			if (k == 4) {
				snprintf(err, en, "schedule: unknown field '%s' (start, duration, on, off)", key);
				return -1;
			}
			if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 86400000000LL) {
				snprintf(err, en, "schedule: '%s' must be milliseconds (an integer >= 0)", key);
				return -1;
			}
			*f[k] = json_integer_value(x);
		}
	}
	if ((v = json_object_get(o, "match")) && !json_is_null(v)) {
		if (!json_is_object(v)) {
			snprintf(err, en, "match: want an object {client, sni, host}");
			return -1;
		}
		d->match_client[0] = d->match_sni[0] = d->match_host[0] = 0;
		json_object_foreach(v, key, x)
		{
			char *dst = !strcmp(key, "client") ? d->match_client
				    : !strcmp(key, "sni")  ? d->match_sni
				    : !strcmp(key, "host") ? d->match_host
							   : NULL;
			size_t dn = !strcmp(key, "client") ? sizeof(d->match_client) : sizeof(d->match_sni);
			if (!dst) {
				snprintf(err, en, "match: unknown field '%s' (client, sni, host)", key);
				return -1;
			}
			if (!json_is_string(x) || strlen(json_string_value(x)) >= dn) {
				snprintf(err, en, "match: '%s' must be a string", key);
				return -1;
			}
			snprintf(dst, dn, "%s", json_string_value(x));
		}
		if (t->udp && (d->match_sni[0] || d->match_host[0])) {
			snprintf(err, en,
				 "match: '%s' is for TCP proxies (a UDP datagram has no TLS ClientHello or HTTP "
				 "request: DTLS and QUIC are not parsed); match UDP clients by 'client' (ADDR or CIDR)",
				 d->match_sni[0] ? "sni" : "host");
			return -1;
		}
	}
	if (create && d->type == UMPA_TOXIC_HOOKS && !d->text[0]) {
		snprintf(err, en, "lua: attribute 'chain' is required ('module:key=value,...')");
		return -1;
	}
	if (umpa_toxic_def_check(d, &e) < 0) {
		snprintf(err, en, "%s", e.msg);
		return -1;
	}
	if (create && umpa_toxics_find(t->tx, d->name)) {
		snprintf(err, en, "toxic already exists");
		*status = 409;
		return -1;
	}
	return 0;
}

static void toxics_index(struct tproxy *t, struct evhttp_request *req, const char *body, size_t len)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (m == EVHTTP_REQ_GET) {
		reply_json(req, 200, toxics_json(t));
	} else if (m == EVHTTP_REQ_POST) {
		json_t *j = parse_body(req, body, len, 0);
		struct umpa_toxic_def d;
		struct umpa_err e = {0, ""};
		char err[600];
		int status;
		if (!j)
			return;
		if (toxic_fields(t, j, &d, 1, &status, err, sizeof(err)) < 0)
			http_ctl_error(req, status, "%s", err);
		else if (d.type == UMPA_TOXIC_HOOKS ? lua_add(t, &d, &e) < 0 : umpa_toxics_add(t->tx, &d, &e) < 0)
			http_ctl_error(req, 400, "%s", e.msg);
		else {
			toxics_changed(t);
			reply_json(req, 200, toxic_json(umpa_toxics_find(t->tx, d.name)));
		}
		json_decref(j);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		http_ctl_error(req, 405, "toxics: method not allowed (allowed: GET, POST)");
	}
}

static void toxic_one(struct tproxy *t, const char *name, struct evhttp_request *req, const char *body, size_t len)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const struct umpa_toxic_def *cur = umpa_toxics_find(t->tx, name);
	if (!cur) {
		http_ctl_error(req, 404, "toxic not found");
		return;
	}
	if (m == EVHTTP_REQ_GET) {
		reply_json(req, 200, toxic_json(cur));
	} else if (m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PATCH) {
		json_t *j = parse_body(req, body, len, 0);
		struct umpa_toxic_def d = *cur;
		struct umpa_err e = {0, ""};
		char err[600];
		int status;
		if (!j)
			return;
		if (toxic_fields(t, j, &d, 0, &status, err, sizeof(err)) < 0)
			http_ctl_error(req, status, "%s", err);
		else if (umpa_toxics_update(t->tx, name, &d, &e) < 0)
			http_ctl_error(req, 400, "%s", e.msg);
		else {
			toxics_changed(t);
			reply_json(req, 200, toxic_json(umpa_toxics_find(t->tx, name)));
		}
		json_decref(j);
	} else if (m == EVHTTP_REQ_DELETE) {
		umpa_toxics_remove(t->tx, name);
		lua_drop(t, name);
		toxics_changed(t);
		reply_empty(req);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST, PATCH, DELETE");
		http_ctl_error(req, 405, "toxic: method not allowed (allowed: GET, POST, PATCH, DELETE)");
	}
}

static void proxy_one(struct toxi_api *a, struct tproxy *t, struct evhttp_request *req, const char *body, size_t len)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (m == EVHTTP_REQ_GET) {
		reply_json(req, 200, proxy_json(t));
	} else if (m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PATCH) {
		json_t *j = parse_body(req, body, len, 0);
		char listen[160], upstream[300], err[600];
		int enabled = t->enabled;
		struct umpa_err e = {0, ""};
		if (!j)
			return;
		snprintf(listen, sizeof(listen), "%s", t->listen);
		snprintf(upstream, sizeof(upstream), "%s", t->upstream);
		if (proxy_fields(j, listen, sizeof(listen), upstream, sizeof(upstream), &enabled, NULL, err,
				 sizeof(err)) < 0) {
			http_ctl_error(req, 400, "%s", err);
		} else {
			int differs = strcmp(listen, t->listen) || strcmp(upstream, t->upstream);
			if (differs || enabled != t->enabled)
				proxy_stop(t);
			snprintf(t->listen, sizeof(t->listen), "%s", listen);
			snprintf(t->upstream, sizeof(t->upstream), "%s", upstream);
			t->enabled = enabled;
			if (enabled && !t->p && !t->u && proxy_start(t, &e) < 0) {
				t->enabled = 0;
				http_ctl_error(req, err_status(&e), "%s", e.msg);
			} else {
				reply_json(req, 200, proxy_json(t));
			}
		}
		json_decref(j);
	} else if (m == EVHTTP_REQ_DELETE) {
		proxy_unlink_free(a, t);
		reply_empty(req);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST, PATCH, DELETE");
		http_ctl_error(req, 405, "proxy: method not allowed (allowed: GET, POST, PATCH, DELETE)");
	}
}

/* /proxies/NAME[/toxics[/TOXIC]] */
static void proxy_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct toxi_api *a = arg;
	char *seg[4] = {0}, *copy = strdup(path + strlen("/proxies/")), *save = NULL, *tok;
	int n = 0;
	struct tproxy *t;
	if (!copy) {
		http_ctl_error(req, 500, "out of memory");
		return;
	}
	for (tok = strtok_r(copy, "/", &save); tok && n < 4; tok = strtok_r(NULL, "/", &save))
		seg[n++] = evhttp_uridecode(tok, 0, NULL);
	if (n == 0 || n == 4 || (n >= 2 && strcmp(seg[1], "toxics"))) {
		http_ctl_error(req, 404, "%s: no such resource", path);
	} else if (!seg[0] || !(t = proxy_find(a, seg[0]))) {
		http_ctl_error(req, 404, "proxy not found");
	} else if (n == 1) {
		proxy_one(a, t, req, body, len);
	} else if (n == 2) {
		toxics_index(t, req, body, len);
	} else {
		toxic_one(t, seg[2] ? seg[2] : "", req, body, len);
	}
	for (int i = 0; i < n; i++)
		free(seg[i]);
	free(copy);
}

static void reset_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct toxi_api *a = arg;
	struct umpa_err e = {0, ""};
	(void)path;
	(void)body;
	(void)len;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		http_ctl_error(req, 405, "/reset: method not allowed (allowed: POST)");
		return;
	}
	for (struct tproxy *t = a->list; t; t = t->next) {
		umpa_toxics_clear(t->tx);
		lua_drop(t, NULL);
		if (!t->p && !t->u) {
			t->enabled = 1;
			if (proxy_start(t, &e) < 0) {
				t->enabled = 0;
				http_ctl_error(req, err_status(&e), "%s", e.msg);
				return;
			}
		}
		toxics_changed(t);
	}
	reply_empty(req);
}

static void version_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	(void)arg;
	(void)path;
	(void)body;
	(void)len;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		http_ctl_error(req, 405, "/version: method not allowed (allowed: GET)");
		evbuffer_free(b);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json;charset=utf-8");
	if (b)
		evbuffer_add_printf(b, "{\"version\": \"%s\", \"umpa\": \"%s\"}\n", TOXI_VERSION, PACKAGE_VERSION);
	evhttp_send_reply(req, 200, "OK", b);
	if (b)
		evbuffer_free(b);
}

/* Prometheus label value: backslash, quote and newline escaped. */
static void label(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void metrics_route(void *arg, struct evhttp_request *req, const char *path, const char *body, size_t len)
{
	struct toxi_api *a = arg;
	struct evbuffer *b;
	static const char *const names[2] = {"received", "sent"};
	(void)path;
	(void)body;
	(void)len;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		http_ctl_error(req, 405, "/metrics: method not allowed (allowed: GET)");
		return;
	}
	if (!(b = evbuffer_new())) {
		http_ctl_error(req, 500, "out of memory");
		return;
	}
	for (int k = 0; k < 2; k++) {
		evbuffer_add_printf(
		    b,
		    "# HELP toxiproxy_proxy_%s_bytes_total The total bytes %s on a given proxy link in a "
		    "given direction\n# TYPE toxiproxy_proxy_%s_bytes_total counter\n",
		    names[k], names[k], names[k]);
		for (struct tproxy *t = a->list; t; t = t->next) {
			uint64_t in[2], out[2];
			proxy_counters(t, in, out);
			for (int d = 0; d < 2; d++) {
				evbuffer_add_printf(b, "toxiproxy_proxy_%s_bytes_total{direction=\"%s\",listener=\"",
						    names[k], stream_name[d]);
				label(b, t->listen);
				evbuffer_add_printf(b, "\",proxy=\"");
				label(b, t->name);
				evbuffer_add_printf(b, "\",upstream=\"");
				label(b, t->upstream);
				evbuffer_add_printf(b, "\"} %llu\n", (unsigned long long)(k ? out[d] : in[d]));
			}
		}
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

struct toxi_api *toxi_api_new(struct umpa_loop *loop, struct http_ctl *ctl, struct umpa_err *e)
{
	struct toxi_api *a = calloc(1, sizeof(*a));
	if (!a) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	a->loop = loop;
	a->ctl = ctl;
	if (http_ctl_route_lax(ctl, "/proxies", proxies_route, a, e) < 0 ||
	    http_ctl_route_lax(ctl, "/proxies/", proxy_route, a, e) < 0 ||
	    http_ctl_route_lax(ctl, "/populate", populate_route, a, e) < 0 ||
	    http_ctl_route_lax(ctl, "/reset", reset_route, a, e) < 0 ||
	    http_ctl_route_lax(ctl, "/version", version_route, a, e) < 0 ||
	    http_ctl_route_lax(ctl, "/metrics", metrics_route, a, e) < 0)
		return toxi_api_free(a);
	return a;
}

void toxi_api_modules(struct toxi_api *a, const char *const *files, size_t n)
{
	a->modfiles = files;
	a->nmodfiles = n;
}

int toxi_api_config(struct toxi_api *a, const char *path, struct umpa_err *e)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	char err[600];
	int status = 0, rc;
	if (!j)
		return umpa_err_set(e, UMPA_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	if (!json_is_array(j)) {
		json_decref(j);
		return umpa_err_set(e, UMPA_EINVAL, "%s: want a JSON array of proxies (Toxiproxy's config format)",
				    path);
	}
	rc = populate(a, j, NULL, &status, err, sizeof(err));
	if (rc < 0)
		umpa_err_set(e, status >= 500 ? UMPA_EIO : UMPA_EINVAL, "%s: %s", path, err);
	else
		rc = (int)json_array_size(j);
	json_decref(j);
	return rc;
}

int toxi_api_stats_json(struct toxi_api *a, struct umpa_sbuf *b)
{
	json_t *o = json_object();
	char *txt;
	for (struct tproxy *t = a->list; t; t = t->next) {
		json_t *p = json_object();
		uint64_t in[2], out[2];
		proxy_counters(t, in, out);
		json_object_set_new(p, "enabled", json_boolean(t->enabled));
		size_t nt = 0;
		while (umpa_toxics_get(t->tx, nt))
			nt++;
		json_object_set_new(p, "toxics", json_integer((json_int_t)nt));
		for (int d = 0; d < 2; d++) {
			char k[64];
			snprintf(k, sizeof(k), "%s_bytes_in", stream_name[d]);
			json_object_set_new(p, k, json_integer((json_int_t)in[d]));
			snprintf(k, sizeof(k), "%s_bytes_out", stream_name[d]);
			json_object_set_new(p, k, json_integer((json_int_t)out[d]));
		}
		if (t->p) {
			struct umpa_proxy_stats st;
			umpa_proxy_stats(t->p, &st);
			json_object_set_new(p, "connections", json_integer((json_int_t)st.accepted));
			json_object_set_new(p, "active", json_integer((json_int_t)st.active));
			json_object_set_new(p, "refused", json_integer((json_int_t)st.refused));
		} else if (t->u) {
			struct umpa_udprelay_stats st;
			struct umpa_impair_stats im, im2;
			umpa_udprelay_impair_total(t->u, 0, &im);
			umpa_udprelay_impair_total(t->u, 1, &im2);
			umpa_udprelay_stats(t->u, &st);
			json_object_set_new(p, "sessions", json_integer((json_int_t)st.active));
			json_object_set_new(p, "dropped", json_integer((json_int_t)(im.dropped + im2.dropped)));
			json_object_set_new(p, "duplicated",
					    json_integer((json_int_t)(im.duplicated + im2.duplicated)));
			json_object_set_new(p, "delayed", json_integer((json_int_t)(im.delayed + im2.delayed)));
			json_object_set_new(p, "lua_dropped",
					    json_integer((json_int_t)(st.hook_dropped[0] + st.hook_dropped[1])));
		}
		json_object_set_new(o, t->name, p);
	}
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!txt)
		return -UMPA_ENOMEM;
	umpa_sbuf_puts(b, "{\"proxies\":");
	umpa_sbuf_puts(b, txt);
	umpa_sbuf_putc(b, '}');
	free(txt);
	return 0;
}

struct toxi_api *toxi_api_free(struct toxi_api *a)
{
	if (!a)
		return NULL;
	while (a->list)
		proxy_unlink_free(a, a->list);
	free(a);
	return NULL;
}
