/* cmd_shell.c - umpa shell (placeholder). */
#include "umpa_tool.h"

int cmd_shell(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return UMPA_EXIT_USAGE;
}
