/* live_sys.c - the kernel's neighbour table (rtnetlink) and dropping privileges.
 *
 * umpa_neigh_lookup dumps RTM_GETNEIGH for one address family and picks the
 * entry for the address (and interface) asked for; the replies are the
 * kernel's bytes and are read through umpa_cur like any received packet.
 * It never sends a probe: active ARP / neighbour discovery is the expect
 * engine's job, on top of this.
 *
 * umpa_drop_privileges follows the order that cannot be undone halfway:
 * supplementary groups, then the group, then the user, then a check that
 * root cannot be regained, then PR_SET_NO_NEW_PRIVS.
 */
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/prctl.h>
#endif

#include "umpa_live.h"

#ifdef __linux__
/* Host-order readers over the cursor (netlink is in the host's byte order). */
static int live_h16_(struct umpa_cur *c, size_t off, uint16_t *v)
{
	const uint8_t *b;
	if (umpa_cur_ptr_at(c, off, 2, &b) < 0)
		return -1;
	memcpy(v, b, 2);
	return 0;
}

static int live_h32_(struct umpa_cur *c, size_t off, uint32_t *v)
{
	const uint8_t *b;
	if (umpa_cur_ptr_at(c, off, 4, &b) < 0)
		return -1;
	memcpy(v, b, 4);
	return 0;
}

/*
 * One RTM_NEWNEIGH message (its payload after the nlmsghdr): does it carry
 * @p addr on @p ifindex (0: any) in a usable state?  Then copy the MAC.
 */
static int live_neigh_match_(struct umpa_cur *m, int family, unsigned ifindex, const uint8_t *addr, size_t alen,
			     uint8_t mac[6])
{
	uint8_t fam;
	uint32_t idx;
	uint16_t state;
	const uint8_t *dst = NULL, *ll = NULL;
	size_t off = NLMSG_ALIGN(sizeof(struct ndmsg));
	const uint16_t usable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

	if (umpa_cur_u8_at(m, offsetof(struct ndmsg, ndm_family), &fam) < 0 ||
	    live_h32_(m, offsetof(struct ndmsg, ndm_ifindex), &idx) < 0 ||
	    live_h16_(m, offsetof(struct ndmsg, ndm_state), &state) < 0)
		return 0;
	if (fam != family || (ifindex && idx != ifindex) || !(state & usable))
		return 0;
	while (umpa_cur_has(m, off, sizeof(struct rtattr))) {
		uint16_t rlen, rtype;
		if (live_h16_(m, off, &rlen) < 0 || live_h16_(m, off + 2, &rtype) < 0 || rlen < sizeof(struct rtattr) ||
		    !umpa_cur_has(m, off, rlen))
			break;
		if (rtype == NDA_DST && rlen - sizeof(struct rtattr) == alen)
			umpa_cur_ptr_at(m, off + sizeof(struct rtattr), alen, &dst);
		else if (rtype == NDA_LLADDR && rlen - sizeof(struct rtattr) == 6)
			umpa_cur_ptr_at(m, off + sizeof(struct rtattr), 6, &ll);
		off += RTA_ALIGN(rlen);
	}
	if (!dst || !ll || memcmp(dst, addr, alen) != 0)
		return 0;
	memcpy(mac, ll, 6);
	return 1;
}
#endif

int umpa_neigh_lookup(const char *ifname, int family, const uint8_t *addr, uint8_t mac[6], struct umpa_err *e)
{
#ifdef __linux__
	struct {
		struct nlmsghdr nh;
		struct ndmsg nd;
	} req;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	size_t alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	unsigned ifindex = 0;
	uint32_t seq = (uint32_t)time(NULL);
	uint8_t buf[32768]; /* the kernel sizes dump messages to what the reader takes */
	int fd, found = 0, done = 0, rc = 0;

	if (!alen)
		return umpa_err_set(e, UMPA_EINVAL, "neighbour lookup: family must be AF_INET or AF_INET6");
	if (ifname && *ifname) {
		ifindex = if_nametoindex(ifname);
		if (!ifindex)
			return umpa_err_set(e, UMPA_ENOENT, "no interface '%s'", ifname);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return umpa_err_set(e, UMPA_EIO, "neighbour lookup: netlink socket: %s", strerror(errno));
	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	req.nh.nlmsg_type = RTM_GETNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.nd.ndm_family = (uint8_t)family;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = umpa_err_set(e, UMPA_EIO, "neighbour lookup: netlink request: %s", strerror(errno));
		goto out;
	}
	/* bounded: a dump ends with NLMSG_DONE; 4096 reads is far beyond any real table */
	for (int reads = 0; !done && reads < 4096; reads++) {
		struct umpa_cur c;
		size_t off = 0;
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = umpa_err_set(e, UMPA_EIO, "neighbour lookup: netlink reply: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		umpa_cur_init(&c, buf, (size_t)n);
		while (umpa_cur_has(&c, off, sizeof(struct nlmsghdr))) {
			uint32_t len, mseq;
			uint16_t type;
			struct umpa_cur m;
			if (live_h32_(&c, off, &len) < 0 || live_h16_(&c, off + 4, &type) < 0 ||
			    live_h32_(&c, off + 8, &mseq) < 0 || len < sizeof(struct nlmsghdr) ||
			    !umpa_cur_has(&c, off, len))
				break;
			if (mseq == seq) {
				if (type == NLMSG_DONE) {
					done = 1;
					break;
				}
				if (type == NLMSG_ERROR) {
					int32_t err = 0;
					live_h32_(&c, off + NLMSG_HDRLEN, (uint32_t *)&err);
					rc = umpa_err_set(e, UMPA_EIO, "neighbour lookup: %s", strerror(-err));
					goto out;
				}
				if (type == RTM_NEWNEIGH && !found &&
				    umpa_cur_sub(&c, off + NLMSG_HDRLEN, len - NLMSG_HDRLEN, &m) == 0)
					found = live_neigh_match_(&m, family, ifindex, addr, alen, mac);
			}
			off += NLMSG_ALIGN(len);
		}
	}
	if (!found)
		rc = umpa_err_set(e, UMPA_ENOENT, "no neighbour entry for that address%s%s", ifname ? " on " : "",
				  ifname ? ifname : "");
out:
	close(fd);
	return rc;
#else
	return umpa_err_set(e, UMPA_ENOSYS, "neighbour lookup is implemented for Linux only");
#endif
}

int umpa_drop_privileges(const char *user, struct umpa_err *e)
{
	struct passwd pwbuf, *pw = NULL;
	char sbuf[4096];
	uid_t uid;
	gid_t gid;
	int r;

	if (!user || !*user)
		return umpa_err_set(e, UMPA_EINVAL, "-Z: which user?");
	r = getpwnam_r(user, &pwbuf, sbuf, sizeof sbuf, &pw);
	if (r != 0 || !pw)
		return umpa_err_set(e, UMPA_ENOENT, "no user '%s'", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (initgroups(pw->pw_name, gid) != 0)
		return umpa_err_set(e, UMPA_EPERM, "cannot become '%s': initgroups: %s", user, strerror(errno));
	if (setgid(gid) != 0)
		return umpa_err_set(e, UMPA_EPERM, "cannot become '%s': setgid(%u): %s", user, (unsigned)gid,
				    strerror(errno));
	if (setuid(uid) != 0)
		return umpa_err_set(e, UMPA_EPERM, "cannot become '%s': setuid(%u): %s", user, (unsigned)uid,
				    strerror(errno));
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
		return umpa_err_set(e, UMPA_EPERM, "cannot become '%s': ids did not change", user);
	if (uid != 0 && setuid(0) == 0)
		return umpa_err_set(e, UMPA_EPERM, "cannot become '%s': root could be regained", user);
#ifdef __linux__
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return umpa_err_set(e, UMPA_EPERM, "cannot become '%s': PR_SET_NO_NEW_PRIVS: %s", user,
				    strerror(errno));
#endif
	return 0;
}
