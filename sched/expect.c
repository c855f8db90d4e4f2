/* expect.c - the action-reaction engine: requests, answers, timeouts, rules.
 *
 * Data structures, chosen so that 10,000+ exchanges in flight cost O(1) per
 * received packet and nothing is allocated per packet once warmed up:
 *  - exchanges live in fixed-size chunks of entries; a settled entry goes to
 *    a free list and keeps its request buffer for the next one;
 *  - two chained hash tables (power-of-two buckets, doubled when the load
 *    passes 1): one keyed by the full matching hash, used for ordinary
 *    answers, one keyed by the hash up to the first upper layer, used for
 *    ICMP errors (which may quote only the start of a request);
 *  - a binary min-heap of deadlines ordered by (deadline, id), with one loop
 *    timer armed at the earliest.  (One loop timer per exchange would cost a
 *    loop allocation per request.)
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_expect.h"
#include "umpa_protos.h"

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

/* What kind of layer a protocol is comes from its description's flags. */
static int is_link_(const struct umpa_proto *pr)
{
	return (pr->pflags & UMPA_PF_LINK) != 0;
}

static int is_ip6ext_(const struct umpa_proto *pr)
{
	return (pr->pflags & UMPA_PF_NETEXT) != 0;
}

static int is_net_(const struct umpa_proto *pr)
{
	return (pr->pflags & (UMPA_PF_NET | UMPA_PF_NETEXT)) != 0;
}

/* The first layer that is not a link layer (nlayers when none). */
static unsigned first_net_(const struct umpa_pkt *p)
{
	unsigned li = 0;

	while (li < p->nlayers && is_link_(p->l[li].proto))
		li++;
	return li;
}

/* The first layer flagged as quoting a packet (an ICMP error), or -1. */
static int quotes_at_(const struct umpa_pkt *p)
{
	for (unsigned li = 0; li < p->nlayers; li++)
		if (p->l[li].flags & UMPA_L_QUOTES)
			return (int)li;
	return -1;
}

uint32_t umpa_match_hash(const struct umpa_pkt *p, int upto_l4)
{
	uint32_t h = 0x811c9dc5u;
	unsigned li = first_net_(p);
	int q = quotes_at_(p);

	if (q >= 0)
		li = (unsigned)q + 1; /* an error hashes as the packet it quotes */
	for (; li < p->nlayers; li++) {
		const struct umpa_proto *pr = p->l[li].proto;
		if (pr->pflags & UMPA_PF_RAW)
			break;
		if (!pr->hashret || is_ip6ext_(pr))
			continue;
		h = (h ^ pr->hashret(p, li)) * 0x01000193u;
		h ^= h >> 15;
		if (upto_l4 && !is_net_(pr))
			break;
	}
	return h;
}

int umpa_match_answers(const struct umpa_pkt *resp, const struct umpa_pkt *req, char *why, size_t whylen)
{
	unsigned r = first_net_(resp), q = first_net_(req);

	if (r >= resp->nlayers || q >= req->nlayers) {
		if (why && whylen)
			snprintf(why, whylen, "no network layer");
		return 0;
	}
	for (;;) {
		const struct umpa_proto *rp, *qp;

		while (r < resp->nlayers && is_ip6ext_(resp->l[r].proto))
			r++;
		while (q < req->nlayers && is_ip6ext_(req->l[q].proto))
			q++;
		if (r >= resp->nlayers || q >= req->nlayers)
			return 1;
		rp = resp->l[r].proto;
		qp = req->l[q].proto;
		if ((rp->pflags & UMPA_PF_RAW) || (qp->pflags & UMPA_PF_RAW))
			return 1;
		if (resp->l[r].flags & UMPA_L_QUOTES) /* the error layer checks the quotation */
			return rp->answers ? rp->answers(resp, r, req, q, why, whylen) : 1;
		if (rp != qp) {
			if (why && whylen)
				snprintf(why, whylen, "answer has %s where the request has %s", rp->name, qp->name);
			return 0;
		}
		if (rp->answers && !rp->answers(resp, r, req, q, why, whylen))
			return 0;
		r++;
		q++;
	}
}

/* ------------------------------------------------------------------ */
/* Field predicates                                                    */
/* ------------------------------------------------------------------ */

enum pnode_kind { PN_AND, PN_OR, PN_NOT, PN_HAS, PN_CMP };
enum pcmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_TRUE };

struct pnode {
	int kind;
	int a, b; /* children (indexes) */
	const struct umpa_proto *proto;
	const struct umpa_field *f; /* NULL for PN_HAS */
	int op;
	uint64_t v;
	uint8_t bytes[16];
	uint32_t nbytes; /* > 0: compare bytes */
	uint32_t plen;   /* with prefix: compare the first plen bits only */
	int prefix;      /* an address field against a prefix ("10.0.0.0/8") */
};

struct umpa_pred {
	struct pnode *n;
	int count, cap, root;
	/* parser state */
	const char *s, *pos;
	struct umpa_err *e;
};

static int pred_err_(struct umpa_pred *pr, const char *fmt, const char *arg)
{
	char m[256];

	snprintf(m, sizeof(m), fmt, arg);
	umpa_err_set(pr->e, UMPA_EINVAL, "field conditions '%s': %s (at offset %d)", pr->s, m, (int)(pr->pos - pr->s));
	return -1;
}

static int pred_node_(struct umpa_pred *pr)
{
	if (pr->count == pr->cap) {
		int cap = pr->cap ? pr->cap * 2 : 8;
		struct pnode *n;
		if (cap > 4096)
			return pred_err_(pr, "%s", "too many conditions");
		n = realloc(pr->n, (size_t)cap * sizeof(*n));
		if (!n) {
			umpa_err_set(pr->e, UMPA_ENOMEM, "out of memory");
			return -1;
		}
		pr->n = n;
		pr->cap = cap;
	}
	memset(&pr->n[pr->count], 0, sizeof(pr->n[0]));
	return pr->count++;
}

static void skip_ws_(struct umpa_pred *pr)
{
	while (*pr->pos == ' ' || *pr->pos == '\t' || *pr->pos == '\n')
		pr->pos++;
}

/* Consume keyword/operator @p w when it is next (words must end there). */
static int accept_(struct umpa_pred *pr, const char *w)
{
	size_t n = strlen(w);

	skip_ws_(pr);
	if (strncmp(pr->pos, w, n) != 0)
		return 0;
	if ((w[0] >= 'a' && w[0] <= 'z') &&
	    ((pr->pos[n] >= 'a' && pr->pos[n] <= 'z') || (pr->pos[n] >= '0' && pr->pos[n] <= '9') ||
	     pr->pos[n] == '_' || pr->pos[n] == '.'))
		return 0;
	pr->pos += n;
	return 1;
}

static int parse_or_(struct umpa_pred *pr, int depth);

/* Parse @p val for field @p f of @p proto into node @p nd, through a scratch layer. */
static int parse_value_(struct umpa_pred *pr, struct pnode *nd, const char *val)
{
	struct umpa_pkt p;
	struct umpa_err e = {0};
	int li, rc = -1;
	char addr[256];
	const char *slash = strchr(val, '/');

	umpa_pkt_init(&p);
	/* an address field against a prefix, as Wireshark writes it: ip.dst == 10.99.0.0/16 */
	if (slash && (nd->f->type == UMPA_FT_IPV4 || nd->f->type == UMPA_FT_IPV6)) {
		unsigned max = nd->f->type == UMPA_FT_IPV4 ? 32 : 128;
		char *end;
		unsigned long bits;
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || bits > max || slash[1] < '0' || slash[1] > '9') {
			umpa_err_set(pr->e, UMPA_EINVAL, "field conditions '%s': %s: '%s': a prefix length is 0 to %u",
				     pr->s, nd->f->ws, val, max);
			goto out;
		}
		snprintf(addr, sizeof(addr), "%.*s", (int)(slash - val), val);
		nd->plen = (uint32_t)bits;
		nd->prefix = 1;
		val = addr;
	}
	li = umpa_pkt_push(&p, nd->proto, &e);
	if (li < 0 || umpa_field_set_str(&p, (unsigned)li, nd->f, val, &e) < 0) {
		umpa_err_set(pr->e, UMPA_EINVAL, "field conditions '%s': %s: %s", pr->s, nd->f->ws, e.msg);
		goto out;
	}
	switch (nd->f->type) {
	case UMPA_FT_MAC:
	case UMPA_FT_IPV4:
	case UMPA_FT_IPV6:
	case UMPA_FT_BYTES: {
		const uint8_t *b;
		uint32_t n;
		if (umpa_field_get_bytes(&p, (unsigned)li, nd->f, &b, &n) < 0 || n == 0 || n > sizeof(nd->bytes)) {
			umpa_err_set(pr->e, UMPA_EINVAL, "field conditions '%s': %s cannot be compared", pr->s,
				     nd->f->ws);
			goto out;
		}
		if (nd->op != C_EQ && nd->op != C_NE) {
			umpa_err_set(pr->e, UMPA_EINVAL, "field conditions '%s': %s compares with == or != only", pr->s,
				     nd->f->ws);
			goto out;
		}
		memcpy(nd->bytes, b, n);
		nd->nbytes = n;
		break;
	}
	default:
		if (umpa_field_get_u64(&p, (unsigned)li, nd->f, &nd->v) < 0) {
			umpa_err_set(pr->e, UMPA_EINVAL, "field conditions '%s': %s cannot be compared", pr->s,
				     nd->f->ws);
			goto out;
		}
		break;
	}
	rc = 0;
out:
	umpa_pkt_release(&p);
	return rc;
}

static int parse_cmp_(struct umpa_pred *pr)
{
	static const struct {
		const char *s;
		int op;
	} ops[] = {{"==", C_EQ}, {"!=", C_NE}, {"<=", C_LE}, {">=", C_GE}, {"<", C_LT}, {">", C_GT}, {"=", C_EQ}};
	char name[128], val[256], pname[64];
	const char *st, *dot;
	size_t n;
	int id, op = -1;
	struct pnode *nd;

	skip_ws_(pr);
	st = pr->pos;
	while ((*pr->pos >= 'a' && *pr->pos <= 'z') || (*pr->pos >= 'A' && *pr->pos <= 'Z') ||
	       (*pr->pos >= '0' && *pr->pos <= '9') || *pr->pos == '.' || *pr->pos == '_' || *pr->pos == '-')
		pr->pos++;
	n = (size_t)(pr->pos - st);
	if (n == 0)
		return pred_err_(pr, "%s", "expected a field name");
	if (n >= sizeof(name))
		return pred_err_(pr, "%s", "name too long");
	memcpy(name, st, n);
	name[n] = 0;
	if ((id = pred_node_(pr)) < 0)
		return -1;
	nd = &pr->n[id];
	dot = strchr(name, '.');
	n = dot ? (size_t)(dot - name) : strlen(name);
	if (n >= sizeof(pname))
		return pred_err_(pr, "unknown protocol in '%s'", name);
	memcpy(pname, name, n);
	pname[n] = 0;
	nd->proto = umpa_proto_find(pname);
	if (!nd->proto)
		return pred_err_(pr, "unknown protocol '%s'", pname);
	if (dot) {
		nd->f = umpa_proto_field(nd->proto, name);
		if (!nd->f)
			nd->f = umpa_proto_field(nd->proto, dot + 1);
		if (!nd->f || nd->f->type == UMPA_FT_VAR)
			return pred_err_(pr, "unknown field '%s'", name);
	}
	skip_ws_(pr);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strncmp(pr->pos, ops[i].s, strlen(ops[i].s)) == 0) {
			op = ops[i].op;
			pr->pos += strlen(ops[i].s);
			break;
		}
	nd = &pr->n[id];
	if (op < 0) {
		nd->kind = dot ? PN_CMP : PN_HAS;
		nd->op = C_TRUE;
		return id;
	}
	if (!dot)
		return pred_err_(pr, "'%s' is a protocol, not a field", name);
	skip_ws_(pr);
	n = 0;
	if (*pr->pos == '"' || *pr->pos == '\'') {
		char qc = *pr->pos++;
		while (*pr->pos && *pr->pos != qc && n + 1 < sizeof(val))
			val[n++] = *pr->pos++;
		if (*pr->pos != qc)
			return pred_err_(pr, "%s", "unterminated string");
		pr->pos++;
	} else {
		while (*pr->pos && *pr->pos != ' ' && *pr->pos != '\t' && *pr->pos != ')' && *pr->pos != '&' &&
		       *pr->pos != '|' && n + 1 < sizeof(val))
			val[n++] = *pr->pos++;
	}
	val[n] = 0;
	if (n == 0)
		return pred_err_(pr, "%s", "expected a value");
	nd->kind = PN_CMP;
	nd->op = op;
	return parse_value_(pr, nd, val) < 0 ? -1 : id;
}

static int parse_unary_(struct umpa_pred *pr, int depth)
{
	int id, a;

	if (depth > 64)
		return pred_err_(pr, "%s", "nested too deeply");
	if (accept_(pr, "not") || accept_(pr, "!")) {
		if ((a = parse_unary_(pr, depth + 1)) < 0 || (id = pred_node_(pr)) < 0)
			return -1;
		pr->n[id].kind = PN_NOT;
		pr->n[id].a = a;
		return id;
	}
	if (accept_(pr, "(")) {
		if ((a = parse_or_(pr, depth + 1)) < 0)
			return -1;
		if (!accept_(pr, ")"))
			return pred_err_(pr, "%s", "expected ')'");
		return a;
	}
	return parse_cmp_(pr);
}

static int parse_and_(struct umpa_pred *pr, int depth)
{
	int a = parse_unary_(pr, depth), b, id;

	while (a >= 0 && (accept_(pr, "and") || accept_(pr, "&&"))) {
		if ((b = parse_unary_(pr, depth)) < 0 || (id = pred_node_(pr)) < 0)
			return -1;
		pr->n[id].kind = PN_AND;
		pr->n[id].a = a;
		pr->n[id].b = b;
		a = id;
	}
	return a;
}

static int parse_or_(struct umpa_pred *pr, int depth)
{
	int a = parse_and_(pr, depth), b, id;

	while (a >= 0 && (accept_(pr, "or") || accept_(pr, "||"))) {
		if ((b = parse_and_(pr, depth)) < 0 || (id = pred_node_(pr)) < 0)
			return -1;
		pr->n[id].kind = PN_OR;
		pr->n[id].a = a;
		pr->n[id].b = b;
		a = id;
	}
	return a;
}

struct umpa_pred *umpa_pred_compile(const char *expr, struct umpa_err *e)
{
	struct umpa_pred *pr = calloc(1, sizeof(*pr));

	if (!pr) {
		umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		return NULL;
	}
	pr->s = pr->pos = expr ? expr : "";
	pr->e = e;
	pr->root = parse_or_(pr, 0);
	if (pr->root >= 0) {
		skip_ws_(pr);
		if (*pr->pos) {
			pred_err_(pr, "unexpected '%s'", pr->pos);
			pr->root = -1;
		}
	}
	if (pr->root < 0)
		return umpa_pred_free(pr);
	pr->s = pr->pos = NULL;
	pr->e = NULL;
	return pr;
}

static int eval_cmp_(const struct pnode *nd, const struct umpa_pkt *p)
{
	int li = umpa_pkt_find(p, nd->proto, 0);

	if (li < 0)
		return 0;
	if (nd->kind == PN_HAS)
		return 1;
	if (nd->nbytes) {
		const uint8_t *b;
		uint32_t n;
		int eq;
		if (umpa_field_get_bytes(p, (unsigned)li, nd->f, &b, &n) < 0 || n != nd->nbytes)
			return 0;
		if (nd->prefix) {
			uint32_t whole = nd->plen / 8, rest = nd->plen % 8;
			eq = memcmp(b, nd->bytes, whole) == 0 &&
			     (!rest || ((b[whole] ^ nd->bytes[whole]) & (uint8_t)(0xff00u >> rest)) == 0);
		} else {
			eq = memcmp(b, nd->bytes, n) == 0;
		}
		return nd->op == C_EQ ? eq : !eq;
	}
	if (nd->f->type == UMPA_FT_MAC || nd->f->type == UMPA_FT_IPV4 || nd->f->type == UMPA_FT_IPV6 ||
	    nd->f->type == UMPA_FT_BYTES) { /* "present and not zero" */
		const uint8_t *b;
		uint32_t n;
		if (umpa_field_get_bytes(p, (unsigned)li, nd->f, &b, &n) < 0)
			return 0;
		for (uint32_t i = 0; i < n; i++)
			if (b[i])
				return 1;
		return 0;
	}
	{
		uint64_t v;
		if (umpa_field_get_u64(p, (unsigned)li, nd->f, &v) < 0)
			return 0;
		switch (nd->op) {
		case C_EQ:
			return v == nd->v;
		case C_NE:
			return v != nd->v;
		case C_LT:
			return v < nd->v;
		case C_LE:
			return v <= nd->v;
		case C_GT:
			return v > nd->v;
		case C_GE:
			return v >= nd->v;
		default:
			return v != 0;
		}
	}
}

static int eval_(const struct umpa_pred *pr, int id, const struct umpa_pkt *p)
{
	const struct pnode *nd = &pr->n[id];

	switch (nd->kind) {
	case PN_AND:
		return eval_(pr, nd->a, p) && eval_(pr, nd->b, p);
	case PN_OR:
		return eval_(pr, nd->a, p) || eval_(pr, nd->b, p);
	case PN_NOT:
		return !eval_(pr, nd->a, p);
	default:
		return eval_cmp_(nd, p);
	}
}

int umpa_pred_match(const struct umpa_pred *pr, const struct umpa_pkt *p)
{
	return pr && pr->root >= 0 ? eval_(pr, pr->root, p) : 1;
}

struct umpa_pred *umpa_pred_free(struct umpa_pred *pr)
{
	if (pr) {
		free(pr->n);
		free(pr);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The engine                                                          */
/* ------------------------------------------------------------------ */

/* One exchange in flight (or free). */
struct xent_ {
	struct umpa_pkt req; /* owned copy, dissected */
	uint32_t hfull, hl4;
	struct xent_ *nfull, **pfull; /* chain in the full-hash table */
	struct xent_ *nl4, **pl4;     /* chain in the upper-layer table */
	struct xent_ *nextfree;
	size_t heapi; /* index in the deadline heap */
	int64_t deadline, sent_ns, timeout_ns;
	int64_t sent_wall_ns; /* the clock's wall time at the last transmission */
	int64_t tx_ts_ns;     /* the capture's time stamp of the last transmission, heard back; 0: not heard */
	unsigned tries, retries;
	uint64_t id;
	struct umpa_expect_opts o;
	struct umpa_outcome out[UMPA_EXPECT_MAX_OUTCOMES];
};

#define CHUNK_ 256

struct rule_ {
	int id, used;
	char *bpf;
	struct umpa_pred *pred;
	umpa_rule_cb cb;
	void *arg;
	int lt; /* link type prog was compiled for; -1 none */
	struct bpf_program prog;
	int compiled, bad; /* bad: does not compile for lt */
};

struct umpa_expect {
	struct umpa_loop *loop;
	umpa_send_fn send;
	void *send_arg;
	struct xent_ **chunks;
	size_t nchunks;
	struct xent_ *freelist;
	struct xent_ **tfull, **tl4; /* bucket heads */
	size_t nbuckets;             /* power of two */
	struct xent_ **heap;
	size_t nheap, capheap;
	struct umpa_timer *timer; /* armed at heap[0]'s deadline */
	int64_t timer_due;
	uint64_t next_id;
	struct umpa_expect_stats st;
	void (*mis_cb)(void *, const struct umpa_pkt *, const struct umpa_pkt *, const char *);
	void *mis_arg;
	struct rule_ *rules;
	int nrules;
	struct umpa_err err; /* a failure inside a timer callback */
};

struct umpa_expect *umpa_expect_new(struct umpa_loop *loop, umpa_send_fn send, void *send_arg, struct umpa_err *e)
{
	struct umpa_expect *ex;

	if (!loop || !send) {
		umpa_err_set(e, UMPA_EINVAL, "expect: a loop and a send function are needed");
		return NULL;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		goto nomem;
	ex->loop = loop;
	ex->send = send;
	ex->send_arg = send_arg;
	ex->nbuckets = 1024;
	ex->tfull = calloc(ex->nbuckets, sizeof(*ex->tfull));
	ex->tl4 = calloc(ex->nbuckets, sizeof(*ex->tl4));
	if (!ex->tfull || !ex->tl4)
		goto nomem;
	ex->next_id = 1;
	return ex;
nomem:
	umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	return umpa_expect_free(ex);
}

struct umpa_expect *umpa_expect_free(struct umpa_expect *ex)
{
	if (!ex)
		return NULL;
	if (ex->timer)
		umpa_timer_cancel(ex->timer);
	for (size_t c = 0; c < ex->nchunks; c++) {
		for (size_t i = 0; i < CHUNK_; i++)
			umpa_pkt_release(&ex->chunks[c][i].req);
		free(ex->chunks[c]);
	}
	free(ex->chunks);
	free(ex->tfull);
	free(ex->tl4);
	free(ex->heap);
	for (int i = 0; i < ex->nrules; i++) {
		if (!ex->rules[i].used)
			continue;
		free(ex->rules[i].bpf);
		umpa_pred_free(ex->rules[i].pred);
		if (ex->rules[i].compiled)
			pcap_freecode(&ex->rules[i].prog);
	}
	free(ex->rules);
	free(ex);
	return NULL;
}

/* ---- entries ---- */

static struct xent_ *ent_get_(struct umpa_expect *ex)
{
	struct xent_ *x = ex->freelist;

	if (!x) {
		struct xent_ **cs = realloc(ex->chunks, (ex->nchunks + 1) * sizeof(*cs));
		struct xent_ *c;
		if (!cs)
			return NULL;
		ex->chunks = cs;
		c = calloc(CHUNK_, sizeof(*c));
		if (!c)
			return NULL;
		ex->chunks[ex->nchunks++] = c;
		for (size_t i = 0; i < CHUNK_; i++) {
			umpa_pkt_init(&c[i].req);
			c[i].nextfree = i + 1 < CHUNK_ ? &c[i + 1] : NULL;
		}
		x = c;
	}
	ex->freelist = x->nextfree;
	x->nextfree = NULL;
	return x;
}

static void ent_put_(struct umpa_expect *ex, struct xent_ *x)
{
	umpa_pkt_clear(&x->req);
	x->nextfree = ex->freelist;
	ex->freelist = x;
}

/* ---- hash tables ---- */

static void link_(struct umpa_expect *ex, struct xent_ *x)
{
	struct xent_ **b = &ex->tfull[x->hfull & (ex->nbuckets - 1)];

	x->nfull = *b;
	if (*b)
		(*b)->pfull = &x->nfull;
	*b = x;
	x->pfull = b;
	b = &ex->tl4[x->hl4 & (ex->nbuckets - 1)];
	x->nl4 = *b;
	if (*b)
		(*b)->pl4 = &x->nl4;
	*b = x;
	x->pl4 = b;
}

static void unlink_(struct xent_ *x)
{
	*x->pfull = x->nfull;
	if (x->nfull)
		x->nfull->pfull = x->pfull;
	*x->pl4 = x->nl4;
	if (x->nl4)
		x->nl4->pl4 = x->pl4;
	x->nfull = x->nl4 = NULL;
	x->pfull = x->pl4 = NULL;
}

/* Double the tables when exchanges outnumber buckets.  On no memory keep the old (longer chains, still correct). */
static void grow_(struct umpa_expect *ex)
{
	size_t nb = ex->nbuckets * 2;
	struct xent_ **tf = calloc(nb, sizeof(*tf)), **t4 = calloc(nb, sizeof(*t4));

	if (!tf || !t4) {
		free(tf);
		free(t4);
		return;
	}
	free(ex->tfull);
	free(ex->tl4);
	ex->tfull = tf;
	ex->tl4 = t4;
	ex->nbuckets = nb;
	for (size_t i = 0; i < ex->nheap; i++)
		link_(ex, ex->heap[i]);
}

/* ---- the deadline heap ---- */

static int before_(const struct xent_ *a, const struct xent_ *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->id < b->id);
}

static void heap_set_(struct umpa_expect *ex, size_t i, struct xent_ *x)
{
	ex->heap[i] = x;
	x->heapi = i;
}

static void sift_up_(struct umpa_expect *ex, size_t i)
{
	struct xent_ *x = ex->heap[i];

	while (i > 0 && before_(x, ex->heap[(i - 1) / 2])) {
		heap_set_(ex, i, ex->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set_(ex, i, x);
}

static void sift_down_(struct umpa_expect *ex, size_t i)
{
	struct xent_ *x = ex->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= ex->nheap)
			break;
		if (c + 1 < ex->nheap && before_(ex->heap[c + 1], ex->heap[c]))
			c++;
		if (!before_(ex->heap[c], x))
			break;
		heap_set_(ex, i, ex->heap[c]);
		i = c;
	}
	heap_set_(ex, i, x);
}

static int heap_push_(struct umpa_expect *ex, struct xent_ *x)
{
	if (ex->nheap == ex->capheap) {
		size_t cap = ex->capheap ? ex->capheap * 2 : 256;
		struct xent_ **h = realloc(ex->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		ex->heap = h;
		ex->capheap = cap;
	}
	heap_set_(ex, ex->nheap++, x);
	sift_up_(ex, ex->nheap - 1);
	return 0;
}

static void heap_remove_(struct umpa_expect *ex, struct xent_ *x)
{
	size_t i = x->heapi;
	struct xent_ *last = ex->heap[--ex->nheap];

	if (i == ex->nheap)
		return;
	heap_set_(ex, i, last);
	if (i > 0 && before_(last, ex->heap[(i - 1) / 2]))
		sift_up_(ex, i);
	else
		sift_down_(ex, i);
}

static void on_timer_(struct umpa_loop *loop, void *arg);

/* Keep one loop timer armed at the earliest deadline. */
static void arm_(struct umpa_expect *ex)
{
	int64_t due;

	if (ex->nheap == 0)
		return; /* a timer still armed fires, finds nothing due and stops */
	due = ex->heap[0]->deadline;
	if (ex->timer && ex->timer_due <= due)
		return; /* fires early enough; re-arms then */
	if (ex->timer)
		umpa_timer_cancel(ex->timer);
	ex->timer = umpa_at(ex->loop, due, on_timer_, ex, &ex->err);
	ex->timer_due = due;
	if (!ex->timer)
		umpa_loop_fail(ex->loop, &ex->err);
}

/* ---- exchanges ---- */

static void settle_(struct umpa_expect *ex, struct xent_ *x, const struct umpa_pkt *answer, int64_t now)
{
	struct umpa_exchange xc = {0};
	umpa_expect_cb cb = NULL;
	void *arg = NULL;

	unlink_(x);
	heap_remove_(ex, x);
	xc.id = x->id;
	xc.request = &x->req;
	xc.answer = answer;
	xc.tries = x->tries;
	xc.user = x->o.user;
	xc.outcome = -1;
	xc.sent_ts_ns = x->tx_ts_ns ? x->tx_ts_ns : x->sent_wall_ns;
	x->req.ts_sec = xc.sent_ts_ns / UMPA_NS_PER_SEC; /* the request as sent, when it was */
	x->req.ts_nsec = (uint32_t)(xc.sent_ts_ns % UMPA_NS_PER_SEC);
	if (answer) {
		int64_t rtt, ats = answer->ts_sec * UMPA_NS_PER_SEC + answer->ts_nsec;
		if (x->tx_ts_ns && ats) { /* both ends stamped by the kernel's packet taps */
			rtt = ats - x->tx_ts_ns;
			xc.rtt_kernel = 1;
		} else {
			rtt = now - x->sent_ns;
		}
		if (rtt < 0)
			rtt = 0;
		xc.rtt_ns = rtt;
		ex->st.answered++;
		if (ex->st.answered == 1 || rtt < ex->st.rtt_min_ns)
			ex->st.rtt_min_ns = rtt;
		if (rtt > ex->st.rtt_max_ns)
			ex->st.rtt_max_ns = rtt;
		ex->st.rtt_sum_ns += rtt;
		for (unsigned i = 0; i < x->o.noutcomes; i++) {
			const struct umpa_outcome *oc = &x->out[i];
			if ((oc->pred && !umpa_pred_match(oc->pred, answer)) ||
			    (oc->match && !oc->match(oc->match_arg, answer)))
				continue;
			xc.outcome = (int)i;
			cb = oc->cb;
			arg = oc->arg;
			break;
		}
		if (xc.outcome < 0) {
			cb = x->o.on_reply;
			arg = x->o.reply_arg;
		}
	} else {
		xc.rtt_ns = -1;
		ex->st.lost++;
		cb = x->o.on_timeout;
		arg = x->o.timeout_arg;
	}
	if (cb)
		cb(arg, &xc);
	ent_put_(ex, x);
}

static int transmit_(struct umpa_expect *ex, struct xent_ *x, struct umpa_err *e)
{
	int rc = ex->send(ex->send_arg, &x->req, e);

	if (rc < 0) {
		ex->st.send_errors++;
		return rc;
	}
	x->tries++;
	ex->st.tx++;
	return 0;
}

static void on_timer_(struct umpa_loop *loop, void *arg)
{
	struct umpa_expect *ex = arg;
	int64_t now = umpa_loop_now_ns(loop);

	ex->timer = NULL;
	while (ex->nheap && ex->heap[0]->deadline <= now) {
		struct xent_ *x = ex->heap[0];
		if (x->tries <= x->retries) {
			struct umpa_err e = {0};
			if (transmit_(ex, x, &e) == 0) {
				x->sent_ns = now;
				x->sent_wall_ns = umpa_loop_wall_ns(loop);
				x->tx_ts_ns = 0;
				x->deadline = now + x->timeout_ns;
				sift_down_(ex, 0);
				continue;
			}
			/* a retry that cannot be sent counts as a try: the exchange goes on to time out */
			x->tries++;
			x->deadline = now + x->timeout_ns;
			sift_down_(ex, 0);
			continue;
		}
		settle_(ex, x, NULL, now);
	}
	arm_(ex);
}

int64_t umpa_expect_add(struct umpa_expect *ex, const struct umpa_pkt *request, const struct umpa_expect_opts *o,
			struct umpa_err *e)
{
	static const struct umpa_expect_opts defaults = {0};
	struct xent_ *x;
	int lt, rc;

	if (!o)
		o = &defaults;
	if (o->noutcomes > UMPA_EXPECT_MAX_OUTCOMES)
		return umpa_err_set(e, UMPA_ERANGE, "expect: at most %d outcomes per request",
				    UMPA_EXPECT_MAX_OUTCOMES);
	if (!request || request->len == 0)
		return umpa_err_set(e, UMPA_EINVAL, "expect: empty request");
	x = ent_get_(ex);
	if (!x)
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	if ((rc = umpa_pkt_copy_from(&x->req, request->data, request->len, e)) < 0) {
		ent_put_(ex, x);
		return rc;
	}
	lt = request->linktype;
	if (request->nlayers) {
		int l = umpa_linktype_for_proto(request->l[0].proto);
		if (l >= 0)
			lt = l;
	}
	x->req.linktype = lt;
	x->req.wirelen = x->req.len;
	umpa_dissect(&x->req);
	x->hfull = umpa_match_hash(&x->req, 0);
	x->hl4 = umpa_match_hash(&x->req, 1);
	x->o = *o;
	x->o.outcomes = NULL;
	if (o->noutcomes)
		memcpy(x->out, o->outcomes, o->noutcomes * sizeof(x->out[0]));
	x->timeout_ns = o->timeout_ns > 0 ? o->timeout_ns : UMPA_NS_PER_SEC;
	x->retries = o->retries;
	x->tries = 0;
	x->id = ex->next_id++;
	if (o->sent_by_caller) {
		x->tries = 1;
		ex->st.tx++;
	} else if ((rc = transmit_(ex, x, e)) < 0) {
		ent_put_(ex, x);
		return rc;
	}
	x->sent_ns = umpa_loop_now_ns(ex->loop);
	x->sent_wall_ns = umpa_loop_wall_ns(ex->loop);
	x->tx_ts_ns = 0;
	x->deadline = x->sent_ns + x->timeout_ns;
	if (heap_push_(ex, x) < 0) {
		ent_put_(ex, x);
		return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
	}
	link_(ex, x);
	if (ex->nheap > ex->nbuckets)
		grow_(ex);
	ex->st.sent++;
	arm_(ex);
	return (int64_t)x->id;
}

/* ---- rules ---- */

/* The DLT_ value libpcap's compiler wants for a LINKTYPE_ value (they differ for raw IP only). */
static int dlt_of_(int linktype)
{
	return linktype == UMPA_LINKTYPE_RAW ? DLT_RAW : linktype;
}

static int rule_bpf_(struct rule_ *r, const struct umpa_pkt *p)
{
	struct pcap_pkthdr h;

	if (!r->bpf)
		return 1;
	if (!r->compiled || r->lt != p->linktype) {
		pcap_t *pd;
		if (r->compiled)
			pcap_freecode(&r->prog);
		r->compiled = 0;
		r->lt = p->linktype;
		pd = pcap_open_dead(dlt_of_(p->linktype), 262144);
		r->bad = !pd || pcap_compile(pd, &r->prog, r->bpf, 1, PCAP_NETMASK_UNKNOWN) < 0;
		r->compiled = !r->bad;
		if (pd)
			pcap_close(pd);
	}
	if (r->bad)
		return 0;
	memset(&h, 0, sizeof(h));
	h.caplen = p->len;
	h.len = p->wirelen > p->len ? p->wirelen : p->len;
	return pcap_offline_filter(&r->prog, &h, p->data) != 0;
}

int umpa_on(struct umpa_expect *ex, const char *bpf, const char *fields, umpa_rule_cb cb, void *arg, struct umpa_err *e)
{
	struct rule_ r = {0}, *rs;
	struct umpa_err own = {0};
	int slot = -1;

	if (!e)
		e = &own;

	if (!cb)
		return umpa_err_set(e, UMPA_EINVAL, "on: a callback is needed");
	if (bpf && *bpf) {
		pcap_t *pd = pcap_open_dead(DLT_EN10MB, 262144);
		if (!pd)
			return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		if (pcap_compile(pd, &r.prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			umpa_err_set(e, UMPA_EINVAL, "bad filter '%s': %s", bpf, pcap_geterr(pd));
			pcap_close(pd);
			return -UMPA_EINVAL;
		}
		pcap_close(pd);
		r.compiled = 1;
		r.lt = UMPA_LINKTYPE_ETHERNET;
		r.bpf = strdup(bpf);
		if (!r.bpf)
			goto nomem;
	}
	if (fields && *fields && !(r.pred = umpa_pred_compile(fields, e))) {
		if (r.compiled)
			pcap_freecode(&r.prog);
		free(r.bpf);
		return -e->code;
	}
	for (int i = 0; i < ex->nrules; i++)
		if (!ex->rules[i].used) {
			slot = i;
			break;
		}
	if (slot < 0) {
		rs = realloc(ex->rules, (size_t)(ex->nrules + 1) * sizeof(*rs));
		if (!rs)
			goto nomem;
		ex->rules = rs;
		slot = ex->nrules++;
	}
	r.used = 1;
	r.id = slot;
	r.cb = cb;
	r.arg = arg;
	ex->rules[slot] = r;
	return slot;
nomem:
	if (r.compiled)
		pcap_freecode(&r.prog);
	free(r.bpf);
	umpa_pred_free(r.pred);
	return umpa_err_set(e, UMPA_ENOMEM, "out of memory");
}

int umpa_on_remove(struct umpa_expect *ex, int id)
{
	struct rule_ *r;

	if (id < 0 || id >= ex->nrules || !ex->rules[id].used)
		return -UMPA_ENOENT;
	r = &ex->rules[id];
	free(r->bpf);
	umpa_pred_free(r->pred);
	if (r->compiled)
		pcap_freecode(&r->prog);
	memset(r, 0, sizeof(*r));
	return 0;
}

/* ---- input ---- */

/*
 * For an answer that quotes an IPv4 request: does the quoted header carry the
 * request's ip.id?  Routers quote the header as it came (only the TTL and the
 * checksum differ), so when several requests differ only in their TTL (a
 * traceroute) the identification tells them apart.  1 yes, 0 no, -1 cannot tell.
 */
static int quoted_id_matches_(const struct umpa_pkt *resp, int qi, const struct umpa_pkt *req)
{
	unsigned r = first_net_(req);
	struct umpa_cur a, b;
	uint16_t ra, rb;

	if (qi < 0 || (unsigned)qi + 1 >= resp->nlayers || resp->l[qi + 1].proto != &umpa_proto_ip ||
	    r >= req->nlayers || req->l[r].proto != &umpa_proto_ip)
		return -1;
	umpa_layer_cur(resp, (unsigned)qi + 1, &a);
	umpa_layer_cur(req, r, &b);
	if (umpa_cur_be16_at(&a, 4, &ra) < 0 || umpa_cur_be16_at(&b, 4, &rb) < 0)
		return -1;
	return ra == rb;
}

/*
 * Is captured @p p (its bytes under @p pc) request @p req heard back: equal
 * byte for byte from the network layer on?  (A request sent at layer 3 is
 * heard with the link header the kernel put in front of it.)
 */
static int is_own_(const struct umpa_pkt *p, struct umpa_cur *pc, const struct umpa_pkt *req, const uint8_t **pb)
{
	unsigned pn = first_net_(p), rn = first_net_(req);
	uint32_t po, ro;

	if (pn >= p->nlayers || rn >= req->nlayers) {
		po = ro = 0; /* no network layer: the whole frames */
	} else {
		po = p->l[pn].off;
		ro = req->l[rn].off;
	}
	if (po > p->len || ro > req->len || p->len - po != req->len - ro)
		return 0;
	return umpa_cur_ptr_at(pc, po, p->len - po, pb) == 0 && memcmp(*pb, req->data + ro, p->len - po) == 0;
}

int umpa_expect_heard(struct umpa_expect *ex, struct umpa_pkt *p)
{
	struct umpa_cur pc;
	const uint8_t *pb;
	struct xent_ *x, *own = NULL;
	int err;
	uint32_t h;

	if (p->nlayers == 0)
		umpa_dissect(p);
	umpa_cur_init(&pc, p->data, p->len);
	err = quotes_at_(p) >= 0;
	h = umpa_match_hash(p, err);
	x = err ? ex->tl4[h & (ex->nbuckets - 1)] : ex->tfull[h & (ex->nbuckets - 1)];
	for (; x; x = err ? x->nl4 : x->nfull) {
		if ((err ? x->hl4 : x->hfull) != h || !is_own_(p, &pc, &x->req, &pb))
			continue;
		/* identical requests: the oldest not heard yet (they leave in order) */
		if (!own || (own->tx_ts_ns && !x->tx_ts_ns) || (!own->tx_ts_ns == !x->tx_ts_ns && x->id < own->id))
			own = x;
	}
	if (!own)
		return 0;
	ex->st.own++;
	if (!own->tx_ts_ns)
		own->tx_ts_ns = p->ts_sec * UMPA_NS_PER_SEC + p->ts_nsec;
	return 1;
}

int umpa_expect_input(struct umpa_expect *ex, struct umpa_pkt *p)
{
	char why[160];
	const struct umpa_pkt *cand = NULL;
	struct xent_ *x, *fallback = NULL;
	struct umpa_cur pc; /* the received bytes */
	const uint8_t *pb;
	int err, qi, best_rank = 0;
	uint32_t h;

	if (p->nlayers == 0)
		umpa_dissect(p);
	ex->st.received++;
	for (int i = 0; i < ex->nrules; i++) {
		struct rule_ *r = &ex->rules[i];
		if (r->used && rule_bpf_(r, p) && umpa_pred_match(r->pred, p))
			r->cb(r->arg, p);
	}
	umpa_cur_init(&pc, p->data, p->len);
	qi = quotes_at_(p);
	err = qi >= 0;
	h = umpa_match_hash(p, err);
	why[0] = 0;
	x = err ? ex->tl4[h & (ex->nbuckets - 1)] : ex->tfull[h & (ex->nbuckets - 1)];
	for (; x; x = err ? x->nl4 : x->nfull) {
		char w[160];
		if ((err ? x->hl4 : x->hfull) != h)
			continue;
		if (is_own_(p, &pc, &x->req, &pb)) {
			ex->st.own++;
			if (!x->tx_ts_ns) /* its time stamp is the kernel's transmit time */
				x->tx_ts_ns = p->ts_sec * UMPA_NS_PER_SEC + p->ts_nsec;
			return 0; /* our own request, heard back */
		}
		w[0] = 0;
		if (umpa_match_answers(p, &x->req, w, sizeof(w))) {
			/* Several requests may accept it (they differ only where the answer
			 * does not show, e.g. the TTL): an error quoting the request's exact
			 * ip.id ranks first, then the oldest request. */
			int rank = !err || quoted_id_matches_(p, qi, &x->req) != 0 ? 2 : 1;
			if (!fallback || rank > best_rank || (rank == best_rank && x->id < fallback->id)) {
				fallback = x;
				best_rank = rank;
			}
			continue;
		}
		if (!cand) {
			cand = &x->req;
			snprintf(why, sizeof(why), "%s", w[0] ? w : "no answers hook accepted it");
		}
	}
	if (fallback) {
		settle_(ex, fallback, p, umpa_loop_now_ns(ex->loop));
		arm_(ex);
		return 1;
	}
	ex->st.unmatched++;
	if (cand) {
		ex->st.mismatched++;
		if (ex->mis_cb)
			ex->mis_cb(ex->mis_arg, p, cand, why);
	}
	return 0;
}

size_t umpa_expect_pending(const struct umpa_expect *ex)
{
	return ex->nheap;
}

static int all_settled_(void *arg)
{
	return ((struct umpa_expect *)arg)->nheap == 0;
}

int umpa_expect_wait(struct umpa_expect *ex, int64_t deadline_ns, struct umpa_err *e)
{
	if (ex->nheap == 0)
		return 1;
	return umpa_loop_run_until(ex->loop, all_settled_, ex, deadline_ns, e);
}

void umpa_expect_stats(const struct umpa_expect *ex, struct umpa_expect_stats *st)
{
	*st = ex->st;
}

void umpa_expect_on_mismatch(struct umpa_expect *ex,
			     void (*cb)(void *arg, const struct umpa_pkt *p, const struct umpa_pkt *req,
					const char *why),
			     void *arg)
{
	ex->mis_cb = cb;
	ex->mis_arg = arg;
}
