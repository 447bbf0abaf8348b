/* ntsync-vm self-test: a static program that fails.
 *   fail          print a TAP failure and a last line without newline, exit 3
 *   fail hang     sleep forever (to exercise the timeouts)            */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "hang") == 0) {
		printf("# fail: hanging\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	printf("1..1\n");
	printf("not ok 1 - fail on purpose\n");
	printf("partial line without newline");
	fflush(stdout);
	return 3;
}
