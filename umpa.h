/* umpa.h - the umbrella header: the whole public API of libumpa in one include.
 *
 * Installed as $(includedir)/umpa/umpa.h next to the headers it includes; a
 * program writes
 *
 *     #include <umpa/umpa.h>
 *
 * and builds with `cc prog.c $(pkg-config --cflags --libs umpa)`.  The headers
 * are listed by layer, in the order the dependencies flow (core, protocols,
 * sched, templates); each one also stands alone.  Every installed header is
 * included here (tests/install/install.sh checks it), and the library exports
 * exactly the umpa_* names these headers declare: internal names end with an
 * underscore and live in *_internal.h headers that are not installed.
 */
#ifndef UMPA_H
#define UMPA_H

/* core: errors, checked numbers, the cursor, text buffers, packets and fields, rendering, capture files,
 * live I/O, the kernel's tables (rtnetlink), the spec tokenizer */
#include "umpa_capfile.h"
#include "umpa_cursor.h"
#include "umpa_error.h"
#include "umpa_live.h"
#include "umpa_near.h"
#include "umpa_num.h"
#include "umpa_packet.h"
#include "umpa_proto.h"
#include "umpa_render.h"
#include "umpa_rtnl.h"
#include "umpa_sbuf.h"
#include "umpa_spec.h"

/* protocols: the registry and dissector driver, pseudo-header sums, TCP reassembly */
#include "umpa_inet.h"
#include "umpa_protos.h"
#include "umpa_reasm.h"

/* sched: the loop and clocks, action-reaction, next hops, TCP (the endpoint pair, the one-sided endpoint), the
 * TLS pump and its option table */
#include "umpa_expect.h"
#include "umpa_replay_tcp.h"
#include "umpa_replay_audit.h"
#include "umpa_replay_fwd.h"
#include "umpa_impair.h"
#include "umpa_resolve.h"
#include "umpa_sched.h"
#include "umpa_replay.h"
#include "umpa_tcpend.h"
#include "umpa_tcpstream.h"
#include "umpa_tls.h"
#include "umpa_tls_opts.h"
#include "umpa_proxy.h"
#include "umpa_toxics.h"
#include "umpa_socks.h"
#include "umpa_udprelay.h"
#include "umpa_proxy_ca.h"
#include "umpa_wiretap.h"
#include "umpa_tls_connect.h"

/* templates: the Lua binding and tls{} */
#include "umpa_lua.h"
#include "umpa_lua_tls.h"
#include "umpa_run.h"
#include "umpa_replay_tmpl.h"
#include "umpa_persona.h"
#include "umpa_proxy_lua.h"

#endif
