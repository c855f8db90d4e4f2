/* cmd_shell.c - `umpa shell`: an interactive Lua prompt with umpa's constructors.
 *
 * The same sandboxed Lua state as packet expressions and templates
 * (templates/lua.c: constructors, packets(), fragment(), dissect(), range,
 * Scapy's spelling), plus what an interactive user needs:
 *
 *   print(...)             values to standard output, tab-separated
 *   show(v)                the field tree of every packet v builds (Scapy's show()),
 *                          each followed by a blank line, as umpa show -v prints it
 *   send(v [, opts])       umpa send with the packets v builds
 *   sr(v [, opts])         umpa sr with the packets v builds
 *   sniff([opts])          umpa sniff
 *   ls([proto])            umpa fields PROTO (Scapy's ls(IP): a name or a constructor)
 *   exit(), quit()         leave (as end of input does)
 *
 * opts is a table of the command's options: {iface="eth0", count=5,
 * timeout=1, filter="icmp", l3=true, ...}; iface, count, filter and inter
 * are Scapy's names for -i, -c, -f (sr: --filter) and --interval, and any
 * other key k is --k (underscores as dashes; true: the flag alone).  Scapy's
 * call syntax works: sr(IP(dst="10.0.0.2")/ICMP(), iface="veth0", timeout=1).
 * Each of the three runs the subcommand in a child process (fork, no exec),
 * so its output, its errors and its exit status are exactly the command's,
 * and a usage error cannot end the shell; they return true when the command
 * succeeded, else false and its exit status.  The packets reach the child as
 * their bytes (dissect("...")), so what was built is what is sent, lies
 * included.
 *
 * Each entry is evaluated as Lua's own prompt does (umpa_lua_eval): an
 * expression's values are printed, statements run, an unfinished statement
 * asks for more lines (">> ").  An error prints one line, "umpa: stdin:LINE:
 * message", and the shell goes on.  On a terminal, libedit gives line
 * editing and a history kept in $HOME/.umpa_history; when standard input is
 * not a terminal (a script piped in) there is no prompt and no history, and
 * the exit status is 1 when any entry failed.  The sandbox's limits apply
 * per entry (5 s of CPU); the wall-clock limit is off, since a prompt waits
 * on its user and sr/sniff on the network.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>
#include <lua.h>

#include "umpa_lua.h"
#include "umpa_sbuf.h"
#include "umpa_tool.h"

static const char shell_usage[] =
    "usage: umpa shell [--no-history]\n"
    "\n"
    "An interactive Lua prompt with umpa's constructors (ether{}, ip{}, ... and Scapy's\n"
    "Ether(), IP(dst=\"10.0.0.2\")/TCP(dport=80), ...), packets(), fragment(), dissect() and:\n"
    "  print(...)          values to standard output\n"
    "  show(v)             the field tree of every packet v builds\n"
    "  send(v [, opts])    umpa send: send(IP(dst=\"10.0.0.2\")/ICMP(), {l3=true})\n"
    "  sr(v [, opts])      umpa sr:   sr(IP(dst=\"10.0.0.2\")/ICMP(), iface=\"eth0\", timeout=1)\n"
    "  sniff([opts])       umpa sniff: sniff{iface=\"eth0\", count=5, filter=\"icmp\"}\n"
    "  ls([proto])         umpa fields: ls(IP), ls(\"tcp\")\n"
    "opts: iface (-i), count (-c), filter (-f), inter (--interval), any other key k as --k.\n"
    "An expression's value is printed; an error prints one line and the shell goes on.\n"
    "On a terminal: line editing and history ($HOME/.umpa_history).  From a pipe: no prompt,\n"
    "exit status 1 when any entry failed.  exit(), quit() or Ctrl-D (end of input) leave.\n"
    "  --no-history   neither read nor write the history file\n";

/* The Lua prelude of the shell: what is simplest in Lua. */
static const char shell_prelude[] = "function show(...)\n"
				    "  for _, p in ipairs(packets(...)) do print(p:tree()) print() end\n"
				    "end\n";

/* print(...): tostring of each argument, tab-separated, and a newline. */
static int sh_print(lua_State *L)
{
	int n = lua_gettop(L);

	for (int i = 1; i <= n; i++) {
		size_t k;
		const char *s = luaL_tolstring(L, i, &k);
		if (i > 1)
			fputc('\t', stdout);
		fwrite(s, 1, k, stdout);
		lua_pop(L, 1);
	}
	fputc('\n', stdout);
	fflush(stdout);
	return 0;
}

/* Push the packets value @idx builds as one expression: {dissect("\x45...", "ip"), ...}. */
static void push_packets_expr(lua_State *L, int idx)
{
	static const char hex[] = "0123456789abcdef";
	struct umpa_sbuf x = {0};
	lua_Integer n;
	int t;

	idx = lua_absindex(L, idx);
	lua_getglobal(L, "packets");
	lua_pushvalue(L, idx);
	lua_call(L, 1, 1); /* the packets, or an error naming the caller's position */
	t = lua_gettop(L);
	if ((n = (lua_Integer)lua_rawlen(L, t)) == 0)
		luaL_error(L, "nothing to send: the value builds no packet");
	umpa_sbuf_putc(&x, '{');
	for (lua_Integer i = 1; i <= n; i++) {
		size_t len;
		const uint8_t *b;
		lua_rawgeti(L, t, i);
		lua_getfield(L, -1, "bytes");
		lua_pushvalue(L, -2);
		lua_call(L, 1, 1);
		b = (const uint8_t *)lua_tolstring(L, -1, &len);
		lua_geti(L, -2, 1); /* the first layer: its protocol says the link type */
		lua_getfield(L, -1, "_name");
		umpa_sbuf_puts(&x, "dissect(\"");
		for (size_t k = 0; k < len; k++) {
			char e4[4] = {'\\', 'x', hex[b[k] >> 4], hex[b[k] & 15]};
			umpa_sbuf_put(&x, e4, 4);
		}
		umpa_sbuf_printf(&x, "\", \"%s\"),", lua_tostring(L, -1) ? lua_tostring(L, -1) : "eth");
		lua_pop(L, 4);
	}
	umpa_sbuf_putc(&x, '}');
	if (x.oom) {
		umpa_sbuf_free(&x);
		luaL_error(L, "out of memory");
	}
	lua_pop(L, 1);
	lua_pushlstring(L, x.s, x.len);
	umpa_sbuf_free(&x);
}

/* exit() / quit(): leave after this entry; upvalue 1 points to the shell's flag. */
static int sh_exit(lua_State *L)
{
	*(int *)lua_touserdata(L, lua_upvalueindex(1)) = 1;
	return 0;
}

/* Option key -> argv: Scapy's names first. */
static const char *opt_name(const char *cmd, const char *k, char *buf, size_t size)
{
	if (!strcmp(k, "iface"))
		return "-i";
	if (!strcmp(k, "count"))
		return "-c";
	if (!strcmp(k, "filter"))
		return strcmp(cmd, "sr") == 0 ? "--filter" : "-f";
	if (!strcmp(k, "inter"))
		return "--interval";
	snprintf(buf, size, "--%s", k);
	for (char *q = buf + 2; *q; q++)
		if (*q == '_')
			*q = '-';
	return buf;
}

/* Run `umpa CMD ARGV...` in a child; returns its exit status (or 1 when it could not run). */
static int run_child(const char *cmd, int argc, char **argv)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	pid_t pid;
	int status = 0;

	fflush(stdout);
	fflush(stderr);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int); /* Ctrl-C stops the command (sniff), not the shell */
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid == 0) {
		int rc;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		optind = 0; /* a fresh getopt for the subcommand */
		if (!strcmp(cmd, "send"))
			rc = cmd_send(argc, argv);
		else if (!strcmp(cmd, "sr"))
			rc = cmd_sr(argc, argv);
		else if (!strcmp(cmd, "fields"))
			rc = cmd_fields(argc, argv);
		else
			rc = cmd_sniff(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	if (pid < 0) {
		tool_err("%s: cannot start: %s", cmd, strerror(errno));
		status = 1;
	} else {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				status = 1 << 8;
				break;
			}
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return status;
}

/*
 * ls([proto]): `umpa fields` for a protocol (Scapy's ls(IP)): a name, or a
 * constructor (its global's name is looked up), or every protocol.
 */
static int sh_ls(lua_State *L)
{
	char *argv[3] = {"fields", NULL, NULL};
	if (lua_type(L, 1) == LUA_TFUNCTION) { /* IP, tcp: the name of the global holding it */
		lua_pushglobaltable(L);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, 1)) {
				lua_pop(L, 1);
				lua_replace(L, 1); /* the key */
				break;
			}
			lua_pop(L, 1);
		}
		lua_settop(L, 1);
		if (lua_type(L, 1) != LUA_TSTRING)
			return luaL_error(L, "ls: not a protocol constructor");
	}
	if (!lua_isnoneornil(L, 1))
		argv[1] = (char *)luaL_checkstring(L, 1);
	(void)run_child("fields", argv[1] ? 2 : 1, argv); /* prints its own errors; returns nothing, as Scapy's */
	return 0;
}

/*
 * send(v, opts) / sr(v, opts) / sniff(opts): upvalue 1 is the command's
 * name.  Builds argv: the command, the options of opts, and the packets as
 * one dissect() expression.
 */
static int sh_command(lua_State *L)
{
	const char *cmd = lua_tostring(L, lua_upvalueindex(1));
	int takes_packets = strcmp(cmd, "sniff") != 0, oi = takes_packets ? 2 : 1, argc = 0, rc;
	char *argv[130];
	char names[64][64];
	int nn = 0;

	if (takes_packets && lua_isnoneornil(L, 1))
		return luaL_error(L, "%s: what to send? %s(IP(dst=\"10.0.0.2\")/ICMP(), {iface=\"eth0\"})", cmd, cmd);
	if (!lua_isnoneornil(L, oi))
		luaL_checktype(L, oi, LUA_TTABLE);
	lua_settop(L, oi);
	argv[argc++] = (char *)cmd;
	lua_newtable(L); /* oi + 1: keeps the option strings alive while the child is made */
	if (lua_istable(L, oi)) {
		lua_Integer kept = 0;
		lua_pushnil(L);
		while (lua_next(L, oi)) {
			const char *k;
			if (lua_type(L, -2) != LUA_TSTRING)
				return luaL_error(L, "%s: options are name=value", cmd);
			if (argc + 3 >= (int)(sizeof argv / sizeof argv[0]) || nn == 64)
				return luaL_error(L, "%s: too many options", cmd);
			k = lua_tostring(L, -2);
			if (lua_type(L, -1) == LUA_TBOOLEAN) {
				if (lua_toboolean(L, -1))
					argv[argc++] = (char *)opt_name(cmd, k, names[nn++], sizeof names[0]);
			} else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
				argv[argc++] = (char *)opt_name(cmd, k, names[nn++], sizeof names[0]);
				luaL_tolstring(L, -1, NULL);
				argv[argc++] = (char *)lua_tostring(L, -1);
				lua_rawseti(L, oi + 1, ++kept);
			} else {
				return luaL_error(L, "%s: option %s: a string, a number or a boolean, not %s", cmd, k,
						  luaL_typename(L, -1));
			}
			lua_pop(L, 1);
		}
	}
	if (takes_packets) {
		push_packets_expr(L, 1);
		argv[argc++] = (char *)lua_tostring(L, -1);
	}
	argv[argc] = NULL;
	rc = run_child(cmd, argc, argv);
	lua_pushboolean(L, rc == 0);
	lua_pushinteger(L, rc);
	return 2;
}

/* "stdin:K: ..." of an entry that started on input line @first -> "stdin:first+K-1: ...". */
static void print_error(const char *msg, unsigned long first)
{
	unsigned long k;
	int used = 0;

	if (sscanf(msg, "stdin:%lu:%n", &k, &used) == 1 && used > 0 && k > 0)
		tool_err("stdin:%lu:%s", first + k - 1, msg + used);
	else
		tool_err("%s", msg);
}

int cmd_shell(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'}, {"no-history", no_argument, NULL, 'H'}, {NULL, 0, NULL, 0}};
	struct umpa_lua_deadline dl = {.cpu = 5, .wall = 0, .total = 0};
	int interactive = isatty(STDIN_FILENO), history = 1, c, failed = 0, quit = 0;
	struct umpa_sbuf entry = {0}, out = {0};
	unsigned long lineno = 0, first = 0;
	char hpath[4096] = "";
	struct umpa_err e = {0};
	struct umpa_lua *U;
	lua_State *L;
	char *line = NULL;
	size_t cap = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(shell_usage, stdout);
			return UMPA_EXIT_OK;
		case 'H':
			history = 0;
			break;
		default:
			tool_err("shell: unknown option '%s' (try 'umpa shell --help')", argv[optind - 1]);
			return UMPA_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		tool_err("shell: unexpected argument '%s' (pipe a script in: umpa shell < script.lua)", argv[optind]);
		return UMPA_EXIT_USAGE;
	}
	if (!(U = umpa_lua_open(&e)) || umpa_lua_set_deadline(U, &dl, &e) < 0) {
		tool_err("shell: %s", e.msg);
		umpa_lua_close(U);
		return UMPA_EXIT_ERROR;
	}
	L = umpa_lua_state(U);
	lua_register(L, "print", sh_print);
	lua_pushliteral(L, "send");
	lua_pushcclosure(L, sh_command, 1);
	lua_setglobal(L, "send");
	lua_pushliteral(L, "sr");
	lua_pushcclosure(L, sh_command, 1);
	lua_setglobal(L, "sr");
	lua_pushliteral(L, "sniff");
	lua_pushcclosure(L, sh_command, 1);
	lua_setglobal(L, "sniff");
	lua_register(L, "ls", sh_ls);
	lua_pushlightuserdata(L, &quit);
	lua_pushcclosure(L, sh_exit, 1);
	lua_pushvalue(L, -1);
	lua_setglobal(L, "exit");
	lua_setglobal(L, "quit");
	if (umpa_lua_run(U, shell_prelude, strlen(shell_prelude), "shell", &e) < 0) {
		tool_err("shell: %s", e.msg);
		umpa_lua_close(U);
		return UMPA_EXIT_ERROR;
	}
	if (interactive && history && getenv("HOME") && *getenv("HOME")) {
		snprintf(hpath, sizeof hpath, "%s/.umpa_history", getenv("HOME"));
		using_history();
		stifle_history(1000);
		read_history(hpath);
	}
	for (;;) {
		char *text;
		int rc;

		if (interactive) {
			free(line);
			line = readline(entry.len ? ">> " : "umpa> ");
			if (!line)
				break;
			if (*line && hpath[0])
				add_history(line);
			text = line;
		} else {
			ssize_t n = getline(&line, &cap, stdin);
			if (n < 0)
				break;
			if (n > 0 && line[n - 1] == '\n')
				line[n - 1] = 0;
			text = line;
		}
		lineno++;
		if (entry.len == 0) {
			first = lineno;
			if (text[strspn(text, " \t\r")] == 0)
				continue; /* a blank line */
		}
		umpa_sbuf_puts(&entry, text);
		umpa_sbuf_putc(&entry, '\n');
		if (entry.oom) {
			tool_err("shell: out of memory");
			break;
		}
		umpa_sbuf_reset(&out);
		rc = umpa_lua_eval(U, entry.s, entry.len, "stdin", &out, &e);
		if (rc == UMPA_LUA_INCOMPLETE)
			continue;
		if (rc < 0) {
			print_error(e.msg, first);
			failed = 1;
		} else if (out.len) {
			fwrite(out.s, 1, out.len, stdout);
		}
		fflush(stdout);
		umpa_sbuf_reset(&entry);
		if (quit)
			break;
	}
	if (entry.len) { /* input ended inside a statement: Lua's own message ("'end' expected ... near <eof>") */
		if (umpa_lua_run(U, entry.s, entry.len - 1 /* its last newline: the error names the last line */,
				 "stdin", &e) < 0)
			print_error(e.msg, first);
		else
			print_error("stdin:1: unfinished statement at the end of the input", first);
		failed = 1;
	}
	if (interactive) {
		fputc('\n', stdout);
		if (hpath[0] && write_history(hpath) != 0)
			tool_note("shell: cannot write the history to %s", hpath);
	}
	free(line);
	umpa_sbuf_free(&entry);
	umpa_sbuf_free(&out);
	umpa_lua_close(U);
	return failed && !interactive ? UMPA_EXIT_ERROR : UMPA_EXIT_OK;
}
