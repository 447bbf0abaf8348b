/* ntsync-vm self-test: a static program that checks the guest environment
 * set up by vm/guest-init.sh and prints a TAP result. Exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *invm = getenv("NTSYNC_IN_VM");
	char cwd[256];
	int ok = 1, i;

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "?");
	printf("1..1\n");
	printf("# hello: sizeof(long)=%zu uid=%u gid=%u cwd=%s NTSYNC_IN_VM=%s\n",
	       sizeof(long), (unsigned)getuid(), (unsigned)getgid(), cwd,
	       invm ? invm : "(unset)");
	for (i = 1; i < argc; i++)
		printf("# arg%d=[%s]\n", i, argv[i]);
	if (!invm || strcmp(invm, "1") != 0) {
		printf("# NTSYNC_IN_VM is not 1\n");
		ok = 0;
	}
	if (strcmp(cwd, "/tmp") != 0) {
		printf("# cwd is not /tmp\n");
		ok = 0;
	}
	printf("%s 1 - hello from the guest\n", ok ? "ok" : "not ok");
	return ok ? 0 : 1;
}
