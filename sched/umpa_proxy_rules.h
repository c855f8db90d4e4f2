/* umpa_proxy_rules.h - ordered rules that choose the proxy's modules per connection.
 *
 * The rule set of tcpproxy's fork "mallory revisited" (its --rules, the redis
 * key `rules`): a JSON array, read in order, of objects
 *
 *     {"src": REGEX, "dst": REGEX, "srcport": "a-b,c", "dstport": "a-b,c",
 *      "hostname": REGEX, "c2s": true, "s2c": true, "rules": ["mod:k=v", ...]}
 *
 * A connection matches a rule when its client address matches src, its
 * target address matches dst, and its ports lie in srcport and dstport;
 * every key but "rules" may be left out or null, as tcpproxy's command-line
 * client writes it (it then matches anything; c2s and s2c default to true).  Every matching rule, in order, appends its
 * modules to the chain of each direction it names (c2s: client to server, s2c: the other way), so rules add up as in
 * tcpproxy.  A regular expression is POSIX extended (regcomp) and anchored at the start as Python's re.match (that is
 * what tcpproxy calls); a port list is comma-separated ports and inclusive
 * ranges "a-b" (tcpproxy's Python range() left b out; here b is in), or a
 * JSON integer.  "hostname" cannot be known when a connection opens (the
 * peek modules or the TLS ClientHello find it), so it is checked each time a
 * module of that rule would run: the module runs only while the
 * connection's hostname is known and matches.  (tcpproxy also ran it while
 * the hostname was still unknown; the peek comes before the first execute,
 * so here the hostname is known whenever it can be.)
 *
 * A rule set is immutable once parsed and reference counted, so a connection
 * keeps the set it was opened with while a newer one replaces it.
 */
#ifndef UMPA_PROXY_RULES_H
#define UMPA_PROXY_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "umpa_error.h"
#include "umpa_sbuf.h"

/** Most rules in a set, most modules in a rule, most ranges in a port list. */
#define UMPA_PROXY_RULES_MAX 1024
#define UMPA_PROXY_RULE_MODS 64
#define UMPA_PROXY_PORTS_MAX 64

/** A port list ("80,8000-8080"): ranges [lo, hi], inclusive. */
struct umpa_proxy_ports {
	unsigned n; /**< 0: any port */
	struct {
		uint16_t lo, hi;
	} r[UMPA_PROXY_PORTS_MAX];
};

/** One parsed rule (read-only). */
struct umpa_proxy_rule {
	const char *src, *dst, *hostname; /**< the expressions as given (NULL: left out) */
	struct umpa_proxy_ports srcport, dstport;
	int c2s, s2c;            /**< directions whose chains get the modules */
	const char *const *mods; /**< module specs, "name:key=value:..." each */
	unsigned nmods;
};

struct umpa_proxy_rules;

/**
 * Parse rules from JSON text @p text (@p len bytes); @p what names the text
 * in errors ("rules.json", "redis key 'rules'", "PUT /rules").  Returns the
 * set (one reference) or NULL with @p e set, one line naming what and where:
 * "rules.json:3:14: unexpected token", "rules.json: rule 2: dstport: '70000'
 * is not a port list (a-b,c)", "rules.json: rule 1: dst: 'a(': bad regular
 * expression (parentheses not balanced)".
 */
struct umpa_proxy_rules *umpa_proxy_rules_parse(const char *text, size_t len, const char *what, struct umpa_err *e);

/** Read and parse file @p path (errors name it).  NULL with @p e set. */
struct umpa_proxy_rules *umpa_proxy_rules_load(const char *path, struct umpa_err *e);

/** Another reference to @p r (NULL is fine).  Returns @p r. */
struct umpa_proxy_rules *umpa_proxy_rules_ref(struct umpa_proxy_rules *r);

/** Drop a reference; the last frees the set.  NULL is fine.  Returns NULL. */
struct umpa_proxy_rules *umpa_proxy_rules_unref(struct umpa_proxy_rules *r);

/** Number of rules in @p r (0 for NULL). */
unsigned umpa_proxy_rules_count(const struct umpa_proxy_rules *r);

/** Rule @p i of @p r (NULL when out of range). */
const struct umpa_proxy_rule *umpa_proxy_rules_get(const struct umpa_proxy_rules *r, unsigned i);

/**
 * Does rule @p i match a connection from @p src port @p sport to @p dst port
 * @p dport (addresses as text)?  The hostname is not looked at here.
 */
int umpa_proxy_rules_match(const struct umpa_proxy_rules *r, unsigned i, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport);

/**
 * May the modules of rule @p i run for a connection whose hostname is
 * @p host (NULL or "": not known)?  1 when the rule names no hostname, else
 * whether @p host is known and matches.
 */
int umpa_proxy_rules_host(const struct umpa_proxy_rules *r, unsigned i, const char *host);

/**
 * Parse port list @p s ("80", "8000-8080", "22,80,1024-2048") into @p p.
 * Returns 0 or -UMPA_EINVAL with @p e set ("'70000' is not a port list (a-b,c)").
 */
int umpa_proxy_ports_parse(const char *s, struct umpa_proxy_ports *p, struct umpa_err *e);

/** Is @p port in @p p (an empty list holds every port)? */
int umpa_proxy_ports_match(const struct umpa_proxy_ports *p, uint16_t port);

/** The rules of @p r as one JSON array (every key present), appended to @p b.  0 or -UMPA_ENOMEM. */
int umpa_proxy_rules_json(const struct umpa_proxy_rules *r, struct umpa_sbuf *b);

/** Where @p r came from (the @p what it was parsed with). */
const char *umpa_proxy_rules_origin(const struct umpa_proxy_rules *r);

#endif
