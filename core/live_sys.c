/* live_sys.c - dropping privileges.  (The neighbour table is read in rtnl.c.)
 *
 * umpa_drop_privileges follows the order that cannot be undone halfway:
 * supplementary groups, then the group, then the user, then a check that
 * root cannot be regained, then PR_SET_NO_NEW_PRIVS.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "umpa_live.h"

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
