/* test_tcps_golden.c - the TCP stream pair's bytes and timestamps, pinned.
 *
 * Each case runs a whole conversation (handshake, data both ways, a close,
 * half-close or reset) through umpa_tcps with one of the hostile modes and
 * hashes what the emit callback got: every packet's timestamp, bytes and
 * comment, and the final stats.  The SHA-256s below were produced by the
 * stream before it ran on umpa_loop (commit 1e615f0, its own clock): the
 * move to the loop's virtual clock must keep every byte and every
 * timestamp.  Regenerate (UMPA_GOLDEN_PRINT=1 prints the hashes) only for a
 * change that is meant to alter the capture, and say why in the commit.
 */
#include <openssl/evp.h>

#include "umpa_sched.h"
#include "umpa_tcpstream.h"
#include "unit.h"

struct hcase {
	const char *tag;
	const char *sha; /* hex SHA-256 */
	void (*set)(struct umpa_tcps_opts *o);
	int ending; /* 0 close by client, 1 half-close by server then client sends and closes, 2 reset */
	size_t n;   /* client bytes */
};

static int hash_emit(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	EVP_MD_CTX *md = arg;
	uint8_t hdr[16];
	uint64_t sec = (uint64_t)p->ts_sec;

	(void)e;
	for (int i = 0; i < 8; i++)
		hdr[i] = (uint8_t)(sec >> (8 * i));
	for (int i = 0; i < 4; i++) {
		hdr[8 + i] = (uint8_t)(p->ts_nsec >> (8 * i));
		hdr[12 + i] = (uint8_t)(p->len >> (8 * i));
	}
	EVP_DigestUpdate(md, hdr, sizeof(hdr));
	EVP_DigestUpdate(md, p->data, p->len);
	if (comment)
		EVP_DigestUpdate(md, comment, strlen(comment) + 1);
	else
		EVP_DigestUpdate(md, "", 1);
	return 0;
}

static uint8_t data[200000];

/*
 * Run @p hc; @p on_loop 0: the classic synchronous calls (private loop);
 * 1: on a caller's virtual loop, every operation queued up front, then
 * umpa_tcps_wait (the packets come as the loop runs).
 */
static void run_case(const struct hcase *hc, int on_loop, char out[65])
{
	struct umpa_tcps_opts o;
	struct umpa_tcps_stats st;
	struct umpa_err e = {0};
	struct umpa_tcps *t;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t h[32];
	unsigned hl = 0;
	struct umpa_tcps_label lab[3] = {{0, "first"}, {1000, "one thousand"}, {1001, "next"}};
	int64_t now;

	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	umpa_tcps_opts_init(&o);
	o.seed = 12345;
	struct umpa_loop *loop = NULL;

	hc->set(&o);
	if (on_loop) {
		loop = umpa_loop_new(UMPA_CLOCK_VIRTUAL, &e);
		assert_non_null(loop);
		assert_int_equal(umpa_loop_set_now(loop, o.start_sec * 1000000000 + o.start_nsec, &e), 0);
	}
	t = umpa_tcps_new_on(loop, &o, hash_emit, md, &e);
	if (!t)
		fail_msg("%s: new: %s", hc->tag, e.msg);
	if (umpa_tcps_connect(t, &e) < 0 || umpa_tcps_send_labelled(t, UMPA_TCPS_CLIENT, data, hc->n, lab, 3, &e) < 0)
		fail_msg("%s: %s", hc->tag, e.msg);
	if (hc->ending == 1) {
		if (umpa_tcps_shutdown(t, UMPA_TCPS_SERVER, &e) < 0 ||
		    umpa_tcps_send(t, UMPA_TCPS_CLIENT, data + 7, 3000, "after", &e) < 0 ||
		    umpa_tcps_close(t, UMPA_TCPS_CLIENT, &e) < 0)
			fail_msg("%s: %s", hc->tag, e.msg);
	} else {
		if (umpa_tcps_send(t, UMPA_TCPS_SERVER, data + 3, 2500, "back", &e) < 0)
			fail_msg("%s: %s", hc->tag, e.msg);
		if ((hc->ending == 2 ? umpa_tcps_reset(t, UMPA_TCPS_CLIENT, &e)
				     : umpa_tcps_close(t, UMPA_TCPS_CLIENT, &e)) < 0)
			fail_msg("%s: %s", hc->tag, e.msg);
	}
	if (on_loop) {
		assert_true(umpa_tcps_busy(t));
		if (umpa_tcps_wait(t, &e) < 0)
			fail_msg("%s: wait: %s", hc->tag, e.msg);
	}
	assert_false(umpa_tcps_busy(t));
	umpa_tcps_stats(t, &st);
	now = umpa_tcps_now_ns(t);
	EVP_DigestUpdate(md, &st, sizeof(st));
	EVP_DigestUpdate(md, &now, sizeof(now));
	umpa_tcps_free(t);
	umpa_loop_free(loop);
	assert_int_equal(EVP_DigestFinal_ex(md, h, &hl), 1);
	EVP_MD_CTX_free(md);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void set_default(struct umpa_tcps_opts *o)
{
	(void)o;
}
static void set_ipv6(struct umpa_tcps_opts *o)
{
	o->ipv6 = 1;
}
static void set_plain(struct umpa_tcps_opts *o)
{
	o->timestamps = 0;
	o->sackok = 0;
	o->wscale = -1;
}
static void set_nots(struct umpa_tcps_opts *o)
{
	o->timestamps = 0;
}
static void set_seg1(struct umpa_tcps_opts *o)
{
	o->seg_max = 1;
}
static void set_segrand(struct umpa_tcps_opts *o)
{
	o->seg_max = 700;
	o->seg_random = 1;
}
static void set_reorder(struct umpa_tcps_opts *o)
{
	o->reorder = 0.3;
}
static void set_dup(struct umpa_tcps_opts *o)
{
	o->dup = 0.3;
}
static void set_loss(struct umpa_tcps_opts *o)
{
	o->loss = 0.2;
}
static void set_loss_nosack(struct umpa_tcps_opts *o)
{
	o->loss = 0.2;
	o->sackok = 0;
}
static void set_overlap(struct umpa_tcps_opts *o)
{
	o->loss = 0.25;
	o->overlap = 1;
}
static void set_all(struct umpa_tcps_opts *o)
{
	o->loss = 0.15;
	o->dup = 0.1;
	o->reorder = 0.2;
	o->overlap = 1;
	o->seg_random = 1;
	o->ipv6 = 1;
}
static void set_delay(struct umpa_tcps_opts *o)
{
	o->per_flight_delay_us = 12345;
	o->rtt_us = 3001;
	o->start_sec = 1234567890;
	o->start_nsec = 999999999;
}
static void set_window(struct umpa_tcps_opts *o)
{
	o->rwnd = 9000;
	o->wscale = 2;
	o->mss[0] = 536;
	o->mss[1] = 1200;
	o->port[0] = 40000;
	o->port[1] = 8443;
}

static struct hcase cases[] = {
    {"default", "eddb2ef12b8aa9112aee16b76af320e78082727f78a76d54fddac5c10bb9c8b5", set_default, 0, 100000},
    {"ipv6", "74d86d38aafdce092236f5fe03a359b82f652b109b94688c7afd8d44b1e87270", set_ipv6, 0, 100000},
    {"plain", "097b52847ebdf8b571b7afcc54ac82ee1e61772099e18e73c7bc7b46bcf78c63", set_plain, 0, 100000},
    {"nots", "183430107be2a39b07e9ecb86ec9c83460b1547ef94154ba1e74fbce1002a7f7", set_nots, 1, 30000},
    {"seg1", "9dc4a45b5d141a1f1ccfb7995fdc1c6c1323a382f94791fd8064f3cab7ef1a90", set_seg1, 0, 3000},
    {"segrand", "9c7cbaa2a41d56528fed6e0c0ce44cbc58d2f9bbf9c0176405f43c89caa5a1c3", set_segrand, 1, 50000},
    {"reorder", "b9d230f8eac82023af6bada82d1ba57fccf03639ed8a7eb56475848eecc19cf6", set_reorder, 0, 100000},
    {"dup", "7041d7c3cc5d4e15453ac100c0bf86d6de04f5f2d4789a42a0189063c6aeebd3", set_dup, 0, 100000},
    {"loss", "d925b70d9feb78c4deac46973c5878790c4d1838408e19488ce593b020c22668", set_loss, 0, 200000},
    {"loss_nosack", "cc837f55293d8f18cad76d6f4334a4987aac661c41f5f8506f8c8fd5f3ddf41c", set_loss_nosack, 1, 100000},
    {"overlap", "42f4ddca19e8af01ad12bdb865f44d7c1c8d2510d7f3fc4ae32ccf28880687f3", set_overlap, 0, 100000},
    {"all", "00e2b998c6b0fec044f527b2d7cb0097c14ff7c6ddbf23a1c3ca366e8d041121", set_all, 1, 100000},
    {"delay", "0d414f6c5ebb1c91ff58e998f687ed2425e4a7de742e95e92a7a41c9a917ada3", set_delay, 2, 50000},
    {"window", "0a62d82e880be90a00f668bb2cd869a1fb2965f143bbde47409da1bf2c928d53", set_window, 0, 100000},
    {"reset", "88692742550a909b4ba08f88a4f77b6b65552d486a022ecaf5233115482ab50a", set_loss, 2, 20000},
};

static void test_golden(void **state)
{
	int print = getenv("UMPA_GOLDEN_PRINT") != NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + (i >> 8));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[65];

		for (int on_loop = 0; on_loop < 2; on_loop++) {
			run_case(&cases[i], on_loop, got);
			if (print && !on_loop)
				printf("\t{\"%s\", \"%s\"},\n", cases[i].tag, got);
			else if (strcmp(got, cases[i].sha))
				fail_msg("%s%s: capture changed: %s, golden %s", cases[i].tag,
					 on_loop ? " (caller's loop)" : "", got, cases[i].sha);
		}
	}
}

/* Timestamps and lengths of what a stream emitted. */
struct tl {
	int64_t ts[64];
	uint32_t len[64];
	size_t n;
};

static int tl_emit(void *arg, const struct umpa_pkt *p, const char *comment, struct umpa_err *e)
{
	struct tl *r = arg;

	(void)comment;
	(void)e;
	assert_true(r->n < 64);
	r->ts[r->n] = p->ts_sec * UMPA_NS_PER_SEC + p->ts_nsec;
	r->len[r->n++] = p->len;
	return 0;
}

/* The same stream on a live loop: the same packets, spaced by real time as the virtual run spaces them. */
static void test_live_clock(void **state)
{
	struct umpa_tcps_opts o;
	struct umpa_err e = {0};
	struct tl virt = {0}, live = {0};
	struct umpa_loop *l;
	struct umpa_tcps *t;

	(void)state;
	umpa_tcps_opts_init(&o);
	o.seed = 9;
	o.rtt_us = 4000;
	for (int k = 0; k < 2; k++) {
		l = k ? umpa_loop_new(UMPA_CLOCK_LIVE, &e) : NULL;
		assert_true(!k || l);
		t = umpa_tcps_new_on(l, &o, tl_emit, k ? (void *)&live : (void *)&virt, &e);
		assert_non_null(t);
		assert_int_equal(umpa_tcps_connect(t, &e), 0);
		assert_int_equal(umpa_tcps_send(t, UMPA_TCPS_CLIENT, data, 20000, "req", &e), 0);
		assert_int_equal(umpa_tcps_close(t, UMPA_TCPS_SERVER, &e), 0);
		assert_int_equal(umpa_tcps_wait(t, &e), 0);
		umpa_tcps_free(t);
		umpa_loop_free(l);
	}
	assert_int_equal(live.n, virt.n);
	for (size_t i = 1; i < virt.n; i++) {
		/* each step is armed when the one before it ran: no gap is shorter than in the virtual run
		 * (1 us of slack: stamps are CLOCK_REALTIME, timers CLOCK_MONOTONIC) */
		int64_t dv = virt.ts[i] - virt.ts[i - 1], dl = live.ts[i] - live.ts[i - 1];
		assert_int_equal(live.len[i], virt.len[i]);
		assert_true(dl >= dv - 1000);
	}
	/* and late by well under a second in all, even on a loaded machine */
	assert_true(live.ts[live.n - 1] - live.ts[0] < virt.ts[virt.n - 1] - virt.ts[0] + UMPA_NS_PER_SEC);
	assert_true(virt.ts[virt.n - 1] - virt.ts[0] >= 10000000); /* several round trips: the test means something */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_live_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
