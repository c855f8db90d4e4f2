/* fuzz_capfile.c - libFuzzer target: capture-file reading, dissecting and rendering.
 *
 * The input is written to an in-memory file (memfd) and read back as a
 * capture file through umpa_capr_open() by its /proc/self/fd path, exactly as
 * `umpa show FILE` reads it: every packet is dissected and rendered as a line,
 * a tree and JSON until the end of the file or the first error.  An error must
 * come with a one-line message naming the file.
 *
 * Built and run by tests/fuzz/run.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "umpa_capfile.h"
#include "umpa_protos.h"
#include "umpa_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];
static struct umpa_sbuf out;

/* Write the whole input at offset 0 of the memfd, cut to its size. */
static int put_input(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (memfd < 0) {
		memfd = memfd_create("umpa-fuzz-capfile", 0);
		if (memfd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0)
		return -1;
	while (done < size) {
		ssize_t k = pwrite(memfd, data + done, size - done, (off_t)done);
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct umpa_err e = {0};
	struct umpa_capr *r;
	struct umpa_pkt p;
	struct umpa_render_opts ro = {0};
	uint64_t n = 0;
	int got;

	if (put_input(data, size) < 0)
		return 0;
	r = umpa_capr_open(path, &e);
	if (!r) {
		/* a failure is fine, but it must say so in one line naming the file */
		if (!e.msg[0] || strchr(e.msg, '\n') || !strstr(e.msg, path))
			__builtin_trap();
		return 0;
	}
	(void)umpa_capr_linktype(r);
	ro.ts_nsec = umpa_capr_nsec(r);
	umpa_pkt_init(&p);
	while ((got = umpa_capr_next(r, &p, &e)) == 1) {
		ro.number = ++n;
		umpa_dissect(&p);
		umpa_sbuf_reset(&out);
		umpa_render_line(&p, &ro, &out);
		umpa_render_tree(&p, &ro, &out);
		umpa_render_json(&p, &ro, &out);
	}
	if (got < 0 && (!e.msg[0] || strchr(e.msg, '\n') || !strstr(e.msg, path)))
		__builtin_trap();
	umpa_pkt_release(&p);
	umpa_capr_close(r);
	if (out.cap > (1u << 24))
		umpa_sbuf_free(&out);
	return 0;
}
