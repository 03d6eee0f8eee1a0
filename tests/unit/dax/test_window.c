// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAX window's checks on SHMEM_MAP / SHMEM_UNMAP requests: malformed
 * ones are refused with nothing mapped and no hole left; the overlap rules
 * (replace whole mappings only, never cut one in two) hold; good ones map
 * the file for real.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dax/dax.h"
#include "tap.h"

#define MiB   (UINT64_C(1) << 20)
#define WSIZE (4 * DAX_RANGE_SIZE)

struct span_info {
	uint64_t covered; /* bytes of the window /proc/self/maps shows */
	uint64_t mapped;  /* ... with any access (not ---p) */
	char perms_at[8]; /* perms of the line holding the probe address */
};

/* What the kernel says about [base, base + size), and @probe's perms. */
static struct span_info inspect(const char *base, uint64_t size,
				const char *probe)
{
	uintptr_t b = (uintptr_t)base, e = b + size, p = (uintptr_t)probe;
	struct span_info si = {0};
	char line[512], perms[8];
	uintptr_t s, t, lo, hi;
	FILE *fp = fopen("/proc/self/maps", "r");

	if (!fp)
		tap_bail("/proc/self/maps");
	strcpy(si.perms_at, "none");
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &s, &t,
			   perms) != 3)
			continue;
		lo = s > b ? s : b;
		hi = t < e ? t : e;
		if (lo >= hi)
			continue;
		si.covered += hi - lo;
		if (strcmp(perms, "---p"))
			si.mapped += hi - lo;
		if (p >= s && p < t)
			snprintf(si.perms_at, sizeof(si.perms_at), "%s", perms);
	}
	fclose(fp);
	return si;
}

static void check_untouched(struct dax_window *w, const char *what)
{
	struct span_info si =
		inspect(dax_window_base(w), WSIZE, dax_window_base(w));

	ok(si.covered == WSIZE && si.mapped == 0 &&
		   dax_window_nr_mappings(w) == 0,
	   "%s: window still all reserved PROT_NONE (covered %" PRIu64
	   ", mapped %" PRIu64 ", tracked %u)",
	   what, si.covered, si.mapped, dax_window_nr_mappings(w));
}

int main(void)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct dax_window *w = NULL;
	struct span_info si;
	char *base, buf[16];
	int fd, rofd, dirfd, pfd[2], closedfd;

	is_int(dax_window_create(0, &w), -EINVAL, "zero-sized window refused");
	is_int(dax_window_create(MiB, &w), -EINVAL,
	       "window not a multiple of 2 MiB refused");
	is_int(dax_window_create(3 * MiB, &w), -EINVAL, "3 MiB window refused");
	if (!is_int(dax_window_create(WSIZE, &w), 0, "8 MiB window created"))
		tap_bail("no window");
	base = dax_window_base(w);
	is_int(dax_window_size(w), WSIZE, "window size reported");
	/* Whatever the kernel's placement (6.7 on aligns by itself). */
	ok(((uintptr_t)base & (2 * MiB - 1)) == 0,
	   "the window starts on a 2 MiB boundary (%p)", (void *)base);
	check_untouched(w, "new window");

	fd = memfd_create("win", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 8 * MiB) < 0)
		tap_bail("memfd");
	rofd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rofd < 0 || dirfd < 0 || pipe(pfd) < 0)
		tap_bail("fds");
	closedfd = dup(fd);
	close(closedfd);

	/* Malformed SHMEM_MAP requests. */
	is_int(dax_window_map(w, fd, 0, 0, 2 * MiB, 2), -EINVAL,
	       "map: flags bit 1 refused");
	is_int(dax_window_map(w, fd, 0, 0, 2 * MiB, UINT64_C(1) << 63), -EINVAL,
	       "map: flags bit 63 refused");
	is_int(dax_window_map(w, fd, 0, 1, 2 * MiB, 1), -EINVAL,
	       "map: unaligned shm_offset refused");
	is_int(dax_window_map(w, fd, 0, 0, page + 1, 1), -EINVAL,
	       "map: unaligned len refused");
	is_int(dax_window_map(w, fd, 0, 0, 0, 1), -EINVAL,
	       "map: zero len refused");
	is_int(dax_window_map(w, fd, 100, 0, 2 * MiB, 1), -EINVAL,
	       "map: unaligned fd_offset refused");
	is_int(dax_window_map(w, fd, 0, WSIZE - page, 2 * page, 1), -EINVAL,
	       "map: span past the window end refused");
	is_int(dax_window_map(w, fd, 0, WSIZE, page, 1), -EINVAL,
	       "map: span starting at the window end refused");
	is_int(dax_window_map(w, fd, 0, UINT64_MAX - page + 1, 2 * page, 1),
	       -EINVAL, "map: shm_offset + len overflow refused");
	is_int(dax_window_map(w, fd, 0, 0, UINT64_MAX - page + 1, 1), -EINVAL,
	       "map: huge len refused");
	is_int(dax_window_map(w, fd, UINT64_MAX - page + 1, 0, 2 * page, 1),
	       -EINVAL, "map: fd_offset + len overflow refused");
	is_int(dax_window_map(w, fd, UINT64_C(1) << 63, 0, page, 1), -EINVAL,
	       "map: fd_offset beyond off_t refused");
	is_int(dax_window_map(w, -1, 0, 0, page, 1), -EBADF,
	       "map: fd -1 refused");
	is_int(dax_window_map(w, closedfd, 0, 0, page, 1), -EBADF,
	       "map: closed fd refused");
	is_int(dax_window_map(w, dirfd, 0, 0, page, 0), -EINVAL,
	       "map: directory fd refused");
	is_int(dax_window_map(w, pfd[0], 0, 0, page, 0), -EINVAL,
	       "map: pipe fd refused");
	is_int(dax_window_map(w, rofd, 0, 0, page, DAX_MAP_WRITABLE), -EACCES,
	       "map: writable map of a read-only fd refused by mmap");
	check_untouched(w, "after malformed maps");

	/* Malformed SHMEM_UNMAP requests on an empty window. */
	is_int(dax_window_unmap(w, 1, page), -EINVAL,
	       "unmap: unaligned offset");
	is_int(dax_window_unmap(w, 0, 0), -EINVAL, "unmap: zero len");
	is_int(dax_window_unmap(w, 0, 100), -EINVAL, "unmap: unaligned len");
	is_int(dax_window_unmap(w, WSIZE - page, 2 * page), -EINVAL,
	       "unmap: past the window end");
	is_int(dax_window_unmap(w, UINT64_MAX - page + 1, 2 * page), -EINVAL,
	       "unmap: offset + len overflow");
	is_int(dax_window_unmap(w, page, page), 0,
	       "unmap of a span with nothing mapped succeeds");
	check_untouched(w, "after malformed unmaps");

	/* A good map: the file really shows through, both ways. */
	is_int(dax_window_map(w, fd, 2 * MiB, 0, 2 * MiB, DAX_MAP_WRITABLE), 0,
	       "map 2 MiB of the file at window offset 0, writable");
	is_int(dax_window_nr_mappings(w), 1, "one mapping tracked");
	memcpy(base + 10, "hello", 5);
	memset(buf, 0, sizeof(buf));
	ok(pread(fd, buf, 5, 2 * MiB + 10) == 5 && !memcmp(buf, "hello", 5),
	   "a store through the window reaches the file at fd_offset");
	if (pwrite(fd, "world", 5, 2 * MiB + 100) != 5)
		tap_bail("pwrite");
	ok(!memcmp(base + 100, "world", 5),
	   "a write to the file shows through the window");
	si = inspect(base, WSIZE, base);
	ok(si.covered == WSIZE && si.mapped == 2 * MiB &&
		   !strcmp(si.perms_at, "rw-s"),
	   "maps: 2 MiB rw-s, the rest reserved (mapped %" PRIu64 ", %s)",
	   si.mapped, si.perms_at);

	/* Overlap rules. */
	is_int(dax_window_map(w, fd, 0, MiB, 2 * MiB, 0), -EBUSY,
	       "map overlapping half of a mapping refused");
	is_int(dax_window_map(w, fd, 0, 0, MiB, 0), -EBUSY,
	       "map inside a larger mapping refused");
	is_int(dax_window_unmap(w, 0, MiB), -EINVAL,
	       "unmap cutting a mapping in two refused");
	is_int(dax_window_unmap(w, MiB, 2 * MiB), -EINVAL,
	       "unmap covering half a mapping refused");
	ok(!memcmp(base + 10, "hello", 5) && dax_window_nr_mappings(w) == 1,
	   "the mapping survived the refused requests");
	is_int(dax_window_map(w, fd, 2 * MiB, 0, 2 * MiB, 0), 0,
	       "map replacing a whole mapping (read-only now) accepted");
	si = inspect(base, WSIZE, base);
	ok(!strcmp(si.perms_at, "r--s") && dax_window_nr_mappings(w) == 1,
	   "replacement is read-only and still one mapping (%s)", si.perms_at);
	is_int(dax_window_map(w, fd, 0, 2 * MiB, 2 * MiB, DAX_MAP_WRITABLE), 0,
	       "second mapping beside the first");
	is_int(dax_window_map(w, fd, 0, 0, 4 * MiB, DAX_MAP_WRITABLE), 0,
	       "one map replacing two whole mappings accepted");
	is_int(dax_window_nr_mappings(w), 1, "they are one mapping now");
	ok(!memcmp(base + 2 * MiB + 10, "hello", 5),
	   "the 4 MiB map shows the file from offset 0");
	is_int(dax_window_map(w, fd, 0, WSIZE - page, page, 0), 0,
	       "map of the window's last page accepted");
	is_int(dax_window_nr_mappings(w), 2, "two mappings tracked");

	/* Unmap: replaced by a reservation, no hole. */
	is_int(dax_window_unmap(w, 0, WSIZE), 0,
	       "unmap of the whole window (covering both) accepted");
	check_untouched(w, "after unmap");
	is_int(dax_window_map(w, fd, 0, 0, 2 * MiB, 0), 0, "map again");
	is_int(dax_window_unmap(w, 0, 2 * MiB), 0, "exact unmap");
	check_untouched(w, "after exact unmap");

	close(fd);
	close(rofd);
	close(dirfd);
	close(pfd[0]);
	close(pfd[1]);
	dax_window_destroy(w);
	return tap_done();
}
