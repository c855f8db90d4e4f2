/* hello.c - a program built against the installed libumpa, as a user would build it.
 *
 * tests/install/install.sh compiles it with only
 *     cc hello.c $(pkg-config --cflags --libs umpa)
 * against a `make install DESTDIR=...` tree.  It builds one frame with the C API
 * (Ethernet / IPv4 / UDP / payload: push the layers, set fields by name, let
 * finish fill lengths and checksums), builds a second from a Lua packet expression,
 * dissects both from their bytes alone, prints each one's one-line summary and
 * JSON, and writes both to a pcap (argv[1]) that the script reads back with the
 * installed `umpa show`.  Exit status: 0, or 1 with one line naming the call that
 * failed.
 */
#include <stdio.h>
#include <string.h>

#include <umpa/umpa.h>

/* Set @p field of layer @p li (protocol @p proto) from text, as the CLI does. */
static int set(struct umpa_pkt *p, unsigned li, const char *proto, const char *field, const char *val,
	       struct umpa_err *e)
{
	const struct umpa_field *f = umpa_proto_field(umpa_proto_find(proto), field);

	if (!f)
		return umpa_err_set(e, UMPA_EINVAL, "%s has no field %s", proto, field);
	return umpa_field_set_str(p, li, f, val, e);
}

/* Build Ethernet / IPv4 / UDP / "hello" with the C API. */
static int build_c(struct umpa_pkt *p, struct umpa_err *e)
{
	static const char *const stack[] = {"ether", "ip", "udp"};

	for (unsigned i = 0; i < 3; i++)
		if (umpa_pkt_push(p, umpa_proto_find(stack[i]), e) < 0)
			return -1;
	if (umpa_pkt_push_bytes(p, &umpa_proto_raw, "hello", 5, e) < 0)
		return -1;
	if (set(p, 1, "ip", "src", "192.0.2.1", e) < 0 || set(p, 1, "ip", "dst", "192.0.2.2", e) < 0 ||
	    set(p, 2, "udp", "sport", "40000", e) < 0 || set(p, 2, "udp", "dport", "53", e) < 0)
		return -1;
	return umpa_pkt_finish(p, e);
}

/* The Lua expression's packet: keep a copy of its bytes. */
static int keep(void *arg, struct umpa_pkt *p, struct umpa_err *e)
{
	return umpa_pkt_dup(arg, p, e);
}

/* Dissect @p built's bytes as a captured frame, print its line and JSON, write it to @p w. */
static int show(const struct umpa_pkt *built, uint64_t n, struct umpa_capw *w, struct umpa_err *e)
{
	struct umpa_render_opts ro = {.number = n};
	struct umpa_sbuf out = {0};
	struct umpa_pkt p;
	int rc;

	umpa_pkt_init(&p);
	umpa_pkt_attach(&p, built->data, built->len, built->len, UMPA_LINKTYPE_ETHERNET);
	p.ts_sec = 1700000000 + (int64_t)n;
	umpa_dissect(&p);
	umpa_render_line(&p, &ro, &out);
	umpa_render_json(&p, &ro, &out);
	fwrite(out.s, 1, out.len, stdout);
	umpa_sbuf_free(&out);
	rc = umpa_capw_write(w, &p, e);
	umpa_pkt_release(&p);
	return rc;
}

int main(int argc, char **argv)
{
	struct umpa_err e = {0};
	struct umpa_pkt c, l;
	struct umpa_lua *L = NULL;
	struct umpa_capw *w = NULL;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: hello OUT.pcap\n");
		return 2;
	}
	umpa_pkt_init(&c);
	umpa_pkt_init(&l);
	if (build_c(&c, &e) < 0) {
		fprintf(stderr, "hello: C build: %s\n", e.msg);
		goto out;
	}
	if (!(L = umpa_lua_open(&e)) ||
	    umpa_lua_build(L, "ether{}/ip{src='192.0.2.1', dst='192.0.2.2'}/udp{sport=40000, dport=53}/'hello'",
			   "hello", 1, keep, &l, &e) != 1) {
		fprintf(stderr, "hello: Lua build: %s\n", e.msg);
		goto out;
	}
	if (!(w = umpa_capw_open(argv[1], UMPA_CAP_PCAP, UMPA_LINKTYPE_ETHERNET, &e)) || show(&c, 1, w, &e) < 0 ||
	    show(&l, 2, w, &e) < 0 || umpa_capw_close(w, &e) < 0) {
		fprintf(stderr, "hello: %s: %s\n", argv[1], e.msg);
		w = NULL;
		goto out;
	}
	w = NULL;
	printf("same bytes: %s\n", c.len == l.len && memcmp(c.data, l.data, c.len) == 0 ? "yes" : "no");
	rc = 0;
out:
	umpa_lua_close(L);
	umpa_pkt_release(&c);
	umpa_pkt_release(&l);
	return rc;
}
