// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test helper: connect to a unix stream socket, optionally stay connected
 * for a while, then hang up. Exit 0 if the connection was accepted.
 *   uconnect PATH [HOLD_MS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long hold = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	int fd;

	if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: uconnect PATH [HOLD_MS]\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "uconnect: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (hold > 0) {
		struct timespec ts = {hold / 1000, (hold % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	close(fd);
	return 0;
}
