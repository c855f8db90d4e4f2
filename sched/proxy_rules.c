/* proxy_rules.c - the proxy's ordered rules (umpa_proxy_rules.h): parsed with jansson, matched with regcomp. */
#include "umpa_proxy_rules.h"

#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A rule as kept: the public part, its compiled expressions and its strings. */
struct rule_ {
	struct umpa_proxy_rule pub;
	regex_t re[3]; /* src, dst, hostname */
	int has[3];
	char *str[3];
	char **mods;
};

struct umpa_proxy_rules {
	unsigned refs;
	unsigned n;
	struct rule_ *r;
	char origin[128];
};

static const char *const re_keys[3] = {"src", "dst", "hostname"};

int umpa_proxy_ports_parse(const char *s, struct umpa_proxy_ports *p, struct umpa_err *e)
{
	const char *q = s;
	p->n = 0;
	if (!*s)
		return umpa_err_set(e, UMPA_EINVAL, "'' is not a port list (a-b,c)");
	while (*q) {
		unsigned long lo, hi;
		char *end;
		while (*q == ' ')
			q++;
		if (*q < '0' || *q > '9')
			goto bad;
		errno = 0;
		lo = strtoul(q, &end, 10);
		hi = lo;
		q = end;
		while (*q == ' ')
			q++;
		if (*q == '-') {
			q++;
			while (*q == ' ')
				q++;
			if (*q < '0' || *q > '9')
				goto bad;
			hi = strtoul(q, &end, 10);
			q = end;
			while (*q == ' ')
				q++;
		}
		if (errno || lo > 65535 || hi > 65535 || hi < lo || (*q && *q != ','))
			goto bad;
		if (p->n >= UMPA_PROXY_PORTS_MAX)
			return umpa_err_set(e, UMPA_ERANGE, "'%s': more than %d ranges", s, UMPA_PROXY_PORTS_MAX);
		p->r[p->n].lo = (uint16_t)lo;
		p->r[p->n].hi = (uint16_t)hi;
		p->n++;
		if (*q == ',') {
			q++;
			if (!*q)
				goto bad;
		}
	}
	return 0;
bad:
	p->n = 0;
	return umpa_err_set(e, UMPA_EINVAL, "'%s' is not a port list (a-b,c)", s);
}

int umpa_proxy_ports_match(const struct umpa_proxy_ports *p, uint16_t port)
{
	if (!p->n)
		return 1;
	for (unsigned i = 0; i < p->n; i++)
		if (port >= p->r[i].lo && port <= p->r[i].hi)
			return 1;
	return 0;
}

static void rule_free(struct rule_ *r)
{
	for (int k = 0; k < 3; k++) {
		if (r->has[k])
			regfree(&r->re[k]);
		free(r->str[k]);
	}
	for (unsigned i = 0; r->mods && i < r->pub.nmods; i++)
		free(r->mods[i]);
	free(r->mods);
}

struct umpa_proxy_rules *umpa_proxy_rules_ref(struct umpa_proxy_rules *r)
{
	if (r)
		r->refs++;
	return r;
}

struct umpa_proxy_rules *umpa_proxy_rules_unref(struct umpa_proxy_rules *r)
{
	if (!r || --r->refs)
		return NULL;
	for (unsigned i = 0; i < r->n; i++)
		rule_free(&r->r[i]);
	free(r->r);
	free(r);
	return NULL;
}

/* A port list given as text or as a JSON integer. */
static int ports_of(json_t *v, struct umpa_proxy_ports *p, struct umpa_err *e)
{
	char buf[16];
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > 65535)
			return umpa_err_set(e, UMPA_EINVAL, "%lld is not a port (0 to 65535)", (long long)n);
		snprintf(buf, sizeof(buf), "%lld", (long long)n);
		return umpa_proxy_ports_parse(buf, p, e);
	}
	if (!json_is_string(v))
		return umpa_err_set(e, UMPA_EINVAL, "not a port list (a string \"a-b,c\" or a number)");
	return umpa_proxy_ports_parse(json_string_value(v), p, e);
}

/* Rule @p idx (from 1, for errors) from JSON object @p o. */
static int rule_parse(struct rule_ *r, json_t *o, unsigned idx, const char *what, struct umpa_err *e)
{
	const char *key;
	json_t *v;
	struct umpa_err sub = {0, ""};
	r->pub.c2s = r->pub.s2c = 1;
	if (!json_is_object(o))
		return umpa_err_set(e, UMPA_EINVAL, "%s: rule %u: not an object ({\"dstport\": ..., \"rules\": [...]})",
				    what, idx);
	json_object_foreach(o, key, v)
	{
		int k;
		for (k = 0; k < 3 && strcmp(key, re_keys[k]); k++)
			;
		if (k < 3) {
			char *anchored;
			size_t l;
			int rc;
			if (json_is_null(v))
				continue;
			if (!json_is_string(v))
				return umpa_err_set(e, UMPA_EINVAL,
						    "%s: rule %u: %s: not a string (a regular expression)", what, idx,
						    key);
			if (!(r->str[k] = strdup(json_string_value(v))))
				return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", what);
			l = strlen(r->str[k]);
			if (!(anchored = malloc(l + 5)))
				return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", what);
			snprintf(anchored, l + 5, "^(%s)", r->str[k]); /* re.match: anchored at the start */
			rc = regcomp(&r->re[k], anchored, REG_EXTENDED | REG_NOSUB);
			free(anchored);
			if (rc) {
				char msg[128];
				regerror(rc, NULL, msg, sizeof(msg));
				return umpa_err_set(e, UMPA_EINVAL,
						    "%s: rule %u: %s: '%s': bad regular expression (%s)", what, idx,
						    key, r->str[k], msg);
			}
			r->has[k] = 1;
		} else if (json_is_null(v) && strcmp(key, "rules")) {
			continue; /* tcpproxy's client writes None for a key left out */
		} else if (!strcmp(key, "srcport") || !strcmp(key, "dstport")) {
			if (ports_of(v, key[0] == 's' ? &r->pub.srcport : &r->pub.dstport, &sub) < 0)
				return umpa_err_set(e, sub.code, "%s: rule %u: %s: %s", what, idx, key, sub.msg);
		} else if (!strcmp(key, "c2s") || !strcmp(key, "s2c")) {
			if (!json_is_boolean(v))
				return umpa_err_set(e, UMPA_EINVAL, "%s: rule %u: %s: not true or false", what, idx,
						    key);
			*(key[0] == 'c' ? &r->pub.c2s : &r->pub.s2c) = json_is_true(v);
		} else if (!strcmp(key, "rules")) {
			size_t i, n;
			json_t *m;
			if (!json_is_array(v))
				return umpa_err_set(
				    e, UMPA_EINVAL,
				    "%s: rule %u: rules: not a list of modules ([\"mod:key=value\", ...])", what, idx);
			n = json_array_size(v);
			if (n > UMPA_PROXY_RULE_MODS)
				return umpa_err_set(e, UMPA_ERANGE, "%s: rule %u: rules: more than %d modules", what,
						    idx, UMPA_PROXY_RULE_MODS);
			if (n && !(r->mods = calloc(n, sizeof(*r->mods))))
				return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", what);
			json_array_foreach(v, i, m)
			{
				if (!json_is_string(m) || !*json_string_value(m))
					return umpa_err_set(
					    e, UMPA_EINVAL,
					    "%s: rule %u: rules[%zu]: not a module name (\"mod:key=value\")", what, idx,
					    i);
				if (!(r->mods[i] = strdup(json_string_value(m))))
					return umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", what);
				r->pub.nmods++;
			}
		} else {
			return umpa_err_set(
			    e, UMPA_EINVAL,
			    "%s: rule %u: unknown key '%s' (src, dst, srcport, dstport, hostname, c2s, s2c, "
			    "rules)",
			    what, idx, key);
		}
	}
	if (!json_object_get(o, "rules"))
		return umpa_err_set(e, UMPA_EINVAL, "%s: rule %u: no \"rules\" (the modules: [\"mod\", ...])", what,
				    idx);
	r->pub.src = r->str[0];
	r->pub.dst = r->str[1];
	r->pub.hostname = r->str[2];
	r->pub.mods = (const char *const *)r->mods;
	return 0;
}

struct umpa_proxy_rules *umpa_proxy_rules_parse(const char *text, size_t len, const char *what, struct umpa_err *e)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *o;
	struct umpa_proxy_rules *r;
	size_t i;
	if (!root) {
		umpa_err_set(e, UMPA_EINVAL, "%s:%d:%d: %s", what, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		umpa_err_set(e, UMPA_EINVAL,
			     "%s: not a JSON list of rules ([{\"dstport\": ..., \"rules\": [...]}, ...])", what);
		return NULL;
	}
	if (json_array_size(root) > UMPA_PROXY_RULES_MAX) {
		json_decref(root);
		umpa_err_set(e, UMPA_ERANGE, "%s: more than %d rules", what, UMPA_PROXY_RULES_MAX);
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r))) ||
	    (json_array_size(root) && !(r->r = calloc(json_array_size(root), sizeof(*r->r))))) {
		free(r);
		json_decref(root);
		umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", what);
		return NULL;
	}
	r->refs = 1;
	snprintf(r->origin, sizeof(r->origin), "%s", what);
	json_array_foreach(root, i, o)
	{
		r->n++;
		if (rule_parse(&r->r[i], o, (unsigned)i + 1, what, e) < 0) {
			json_decref(root);
			return umpa_proxy_rules_unref(r);
		}
	}
	json_decref(root);
	return r;
}

struct umpa_proxy_rules *umpa_proxy_rules_load(const char *path, struct umpa_err *e)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n = 0, cap = 4096;
	struct umpa_proxy_rules *r;
	if (!f) {
		umpa_err_set(e, UMPA_EINVAL, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!(buf = malloc(cap))) {
		fclose(f);
		umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	for (;;) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		if (cap >= (16u << 20)) {
			free(buf);
			fclose(f);
			umpa_err_set(e, UMPA_ERANGE, "%s: larger than 16 MiB", path);
			return NULL;
		}
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			fclose(f);
			umpa_err_set(e, UMPA_ENOMEM, "%s: out of memory", path);
			return NULL;
		}
		buf = nb;
		cap *= 2;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		umpa_err_set(e, UMPA_EIO, "%s: cannot read", path);
		return NULL;
	}
	fclose(f);
	r = umpa_proxy_rules_parse(buf, n, path, e);
	free(buf);
	return r;
}

unsigned umpa_proxy_rules_count(const struct umpa_proxy_rules *r)
{
	return r ? r->n : 0;
}

const struct umpa_proxy_rule *umpa_proxy_rules_get(const struct umpa_proxy_rules *r, unsigned i)
{
	return r && i < r->n ? &r->r[i].pub : NULL;
}

const char *umpa_proxy_rules_origin(const struct umpa_proxy_rules *r)
{
	return r ? r->origin : "";
}

int umpa_proxy_rules_match(const struct umpa_proxy_rules *r, unsigned i, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport)
{
	const struct rule_ *x;
	if (!r || i >= r->n)
		return 0;
	x = &r->r[i];
	return (!x->has[0] || regexec(&x->re[0], src, 0, NULL, 0) == 0) &&
	       (!x->has[1] || regexec(&x->re[1], dst, 0, NULL, 0) == 0) &&
	       umpa_proxy_ports_match(&x->pub.srcport, sport) && umpa_proxy_ports_match(&x->pub.dstport, dport);
}

int umpa_proxy_rules_host(const struct umpa_proxy_rules *r, unsigned i, const char *host)
{
	if (!r || i >= r->n)
		return 0;
	if (!r->r[i].has[2])
		return 1;
	return host && *host && regexec(&r->r[i].re[2], host, 0, NULL, 0) == 0;
}

static void ports_json(struct umpa_sbuf *b, const struct umpa_proxy_ports *p)
{
	umpa_sbuf_putc(b, '"');
	if (!p->n)
		umpa_sbuf_puts(b, "0-65535");
	for (unsigned i = 0; i < p->n; i++) {
		if (i)
			umpa_sbuf_putc(b, ',');
		if (p->r[i].lo == p->r[i].hi)
			umpa_sbuf_printf(b, "%u", p->r[i].lo);
		else
			umpa_sbuf_printf(b, "%u-%u", p->r[i].lo, p->r[i].hi);
	}
	umpa_sbuf_putc(b, '"');
}

static void str_json(struct umpa_sbuf *b, const char *s, const char *dflt)
{
	s = s ? s : dflt;
	umpa_sbuf_put_json_str(b, s, strlen(s));
}

int umpa_proxy_rules_json(const struct umpa_proxy_rules *r, struct umpa_sbuf *b)
{
	umpa_sbuf_putc(b, '[');
	for (unsigned i = 0; i < umpa_proxy_rules_count(r); i++) {
		const struct umpa_proxy_rule *x = &r->r[i].pub;
		umpa_sbuf_puts(b, i ? ",{\"src\":" : "{\"src\":");
		str_json(b, x->src, ".*");
		umpa_sbuf_puts(b, ",\"dst\":");
		str_json(b, x->dst, ".*");
		umpa_sbuf_puts(b, ",\"srcport\":");
		ports_json(b, &x->srcport);
		umpa_sbuf_puts(b, ",\"dstport\":");
		ports_json(b, &x->dstport);
		umpa_sbuf_puts(b, ",\"hostname\":"); /* null: any connection, its hostname known or not */
		if (x->hostname)
			str_json(b, x->hostname, "");
		else
			umpa_sbuf_puts(b, "null");
		umpa_sbuf_printf(b, ",\"c2s\":%s,\"s2c\":%s,\"rules\":[", x->c2s ? "true" : "false",
				 x->s2c ? "true" : "false");
		for (unsigned k = 0; k < x->nmods; k++) {
			if (k)
				umpa_sbuf_putc(b, ',');
			str_json(b, x->mods[k], "");
		}
		umpa_sbuf_puts(b, "]}");
	}
	umpa_sbuf_putc(b, ']');
	return b->oom ? -UMPA_ENOMEM : 0;
}
