/* cmd_replay.c - `umpa replay`: replay a capture at a device and check its answers.
 *
 * The work is sched/replay.c's (sched/umpa_replay.h): this file parses the
 * options, opens the interfaces (one injector and one capture per -i),
 * hands the run its I/O, prints the progress line, the report and the rate
 * report, and turns the verdicts into the exit status.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umpa_replay.h"
#include "umpa_tool.h"

static const char replay_usage[] = "usage: umpa replay FILE -i IFACE [-i IFACE2] [OPTIONS]\n";

int cmd_replay(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		fputs(replay_usage, stdout);
		return UMPA_EXIT_OK;
	}
	tool_err("replay: not implemented yet");
	return UMPA_EXIT_ERROR;
}
