/* replay_guard.c - drop the local kernel's RSTs on flows umpa replay plays from a local address (nftables).
 *
 * Why: when the replayed side of a TCP flow uses an address this machine
 * owns, the peer's SYN+ACK and data reach the local kernel too, which has
 * no socket for them and answers with a RST (RFC 9293 3.10.7.1), killing
 * the connection umpa is replaying.  tcpliveplay asks the user to add an
 * iptables rule by hand; we add it for the duration of the replay.  The
 * rule sits in its own table (one delete removes it all, nothing of the
 * user's ruleset is touched), matches only the replayed flows' tuples (a
 * set: one lookup however many flows), and only RSTs.  nft is run as a
 * child (fork + execvp, the script on its stdin); nothing here is a raw
 * socket or a library the project would otherwise not need.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay_guard.h"
#include "umpa_sbuf.h"

struct replay_guard {
	char table[48];
	int on;
};

/* The guard atexit removes (one per process: the replay has one). */
static struct replay_guard *atexit_guard;

/* Run nft with @p script on its stdin, its output discarded.  Returns its exit status, -1 when it could not run. */
static int nft_run_(const char *script, size_t n)
{
	int pfd[2], st = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(pfd[0], 0);
		if (dn >= 0) {
			dup2(dn, 1);
			dup2(dn, 2);
		}
		close(pfd[0]);
		close(pfd[1]);
		execlp("nft", "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	{
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(pfd[1], script + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		signal(SIGPIPE, old);
	}
	close(pfd[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Does a local interface hold @p a? */
static int local_(const struct ifaddrs *ifs, int v6, const uint8_t *a)
{
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (!v6 && i->ifa_addr->sa_family == AF_INET &&
		    !memcmp(&((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr, a, 4))
			return 1;
		if (v6 && i->ifa_addr->sa_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr, a, 16))
			return 1;
	}
	return 0;
}

static void atexit_off_(void)
{
	replay_guard_off(atexit_guard);
}

int replay_guard_on(const struct replay_guard_flow *fl, size_t n, struct replay_guard **out, char *how, size_t howlen,
		    struct umpa_err *e)
{
	struct ifaddrs *ifs = NULL;
	struct umpa_sbuf s4, s6, sc, w4, w6; /* w4, w6: address . port . address (any peer port) */
	size_t k4 = 0, k6 = 0, j4 = 0, j6 = 0;
	char first[INET6_ADDRSTRLEN] = "";
	struct replay_guard *g;
	int rc = 0;

	*out = NULL;
	if (howlen)
		how[0] = 0;
	if (getifaddrs(&ifs) < 0)
		return umpa_err_set(e, UMPA_EIO, "kernel RST guard: getifaddrs: %s", strerror(errno));
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	memset(&sc, 0, sizeof(sc));
	memset(&w4, 0, sizeof(w4));
	memset(&w6, 0, sizeof(w6));
	for (size_t i = 0; i < n; i++) {
		char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];
		const struct replay_guard_flow *f = &fl[i];
		int af = f->ipv6 ? AF_INET6 : AF_INET;
		if (!local_(ifs, f->ipv6, f->laddr))
			continue;
		inet_ntop(af, f->laddr, la, sizeof(la));
		inet_ntop(af, f->raddr, ra, sizeof(ra));
		if (!first[0])
			snprintf(first, sizeof(first), "%s", la);
		if (!f->rport) { /* any peer port */
			umpa_sbuf_printf(f->ipv6 ? &w6 : &w4, "%s%s . %u . %s", (f->ipv6 ? j6 : j4) ? ", " : "", la,
					 f->lport, ra);
			if (f->ipv6)
				j6++;
			else
				j4++;
			continue;
		}
		umpa_sbuf_printf(f->ipv6 ? &s6 : &s4, "%s%s . %u . %s . %u", (f->ipv6 ? k6 : k4) ? ", " : "", la,
				 f->lport, ra, f->rport);
		if (f->ipv6)
			k6++;
		else
			k4++;
	}
	freeifaddrs(ifs);
	if (!k4 && !k6 && !j4 && !j6)
		goto done;
	if (!(g = calloc(1, sizeof(*g)))) {
		rc = umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(g->table, sizeof(g->table), "umpa_replay_%ld", (long)getpid());
	umpa_sbuf_printf(&sc, "table inet %s {\n", g->table);
	if (k4)
		umpa_sbuf_printf(
		    &sc, "  set v4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; elements = { %s } }\n",
		    (s4.s ? s4.s : ""));
	if (k6)
		umpa_sbuf_printf(
		    &sc, "  set v6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; elements = { %s } }\n",
		    (s6.s ? s6.s : ""));
	if (j4)
		umpa_sbuf_printf(&sc, "  set w4 { type ipv4_addr . inet_service . ipv4_addr; elements = { %s } }\n",
				 (w4.s ? w4.s : ""));
	if (j6)
		umpa_sbuf_printf(&sc, "  set w6 { type ipv6_addr . inet_service . ipv6_addr; elements = { %s } }\n",
				 (w6.s ? w6.s : ""));
	umpa_sbuf_printf(&sc, "  chain out {\n    type filter hook output priority 0; policy accept;\n");
	if (k4)
		umpa_sbuf_printf(&sc,
				 "    tcp flags & rst == rst ip saddr . tcp sport . ip daddr . tcp dport @v4 drop\n");
	if (k6)
		umpa_sbuf_printf(&sc,
				 "    tcp flags & rst == rst ip6 saddr . tcp sport . ip6 daddr . tcp dport @v6 drop\n");
	if (j4)
		umpa_sbuf_printf(&sc, "    tcp flags & rst == rst ip saddr . tcp sport . ip daddr @w4 drop\n");
	if (j6)
		umpa_sbuf_printf(&sc, "    tcp flags & rst == rst ip6 saddr . tcp sport . ip6 daddr @w6 drop\n");
	umpa_sbuf_printf(&sc, "  }\n}\n");
	if (sc.oom || !sc.s) {
		free(g);
		rc = umpa_err_set(e, UMPA_ENOMEM, "out of memory");
		goto done;
	}
	{
		int st = nft_run_(sc.s, sc.len);
		if (st != 0) {
			free(g);
			rc = umpa_err_set(e, UMPA_EPERM,
					  st == 127 || st < 0
					      ? "kernel RST guard: cannot run nft (install nftables), so the local "
						"kernel may reset the %zu replayed flow(s) from %s"
					      : "kernel RST guard: nft refused the rule (root needed), so the local "
						"kernel may reset the %zu replayed flow(s) from %s",
					  k4 + k6 + j4 + j6, first);
			goto done;
		}
	}
	g->on = 1;
	if (!atexit_guard) {
		atexit_guard = g;
		atexit(atexit_off_);
	}
	snprintf(how, howlen,
		 "kernel RSTs on %zu replayed flow(s) from %s are dropped by nftables table inet %s until the replay "
		 "ends",
		 k4 + k6 + j4 + j6, first, g->table);
	*out = g;
done:
	umpa_sbuf_free(&s4);
	umpa_sbuf_free(&s6);
	umpa_sbuf_free(&sc);
	umpa_sbuf_free(&w4);
	umpa_sbuf_free(&w6);
	return rc;
}

void replay_guard_off(struct replay_guard *g)
{
	char cmd[96];
	int n;

	if (!g)
		return;
	if (g->on) {
		n = snprintf(cmd, sizeof(cmd), "delete table inet %s\n", g->table);
		nft_run_(cmd, (size_t)n);
		g->on = 0;
	}
	if (g == atexit_guard) {
		/* the atexit handler stays registered: it finds nothing to do */
		atexit_guard = NULL;
	}
	free(g);
}
