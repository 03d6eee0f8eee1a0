// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vdax mount: the counters every operation keeps, and `vdax stats`, which
 * reads them through a virtual xattr on the mount's root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <sysexits.h>
#include <unistd.h>

#include "mount_int.h"

const char *const vm_op_names[VM_NR_OPS] = {
	[VM_LOOKUP] = "lookup",		[VM_FORGET] = "forget",
	[VM_GETATTR] = "getattr",	[VM_SETATTR] = "setattr",
	[VM_READLINK] = "readlink",	[VM_MKNOD] = "mknod",
	[VM_MKDIR] = "mkdir",		[VM_UNLINK] = "unlink",
	[VM_RMDIR] = "rmdir",		[VM_SYMLINK] = "symlink",
	[VM_RENAME] = "rename",		[VM_LINK] = "link",
	[VM_OPEN] = "open",		[VM_CREATE] = "create",
	[VM_READ] = "read",		[VM_WRITE] = "write",
	[VM_FLUSH] = "flush",		[VM_RELEASE] = "release",
	[VM_FSYNC] = "fsync",		[VM_OPENDIR] = "opendir",
	[VM_READDIR] = "readdir",	[VM_READDIRPLUS] = "readdirplus",
	[VM_RELEASEDIR] = "releasedir",
	[VM_STATFS] = "statfs",		[VM_SETXATTR] = "setxattr",
	[VM_GETXATTR] = "getxattr",	[VM_LISTXATTR] = "listxattr",
	[VM_REMOVEXATTR] = "removexattr", [VM_ACCESS] = "access",
	[VM_GETLK] = "getlk",		[VM_SETLK] = "setlk",
	[VM_FLOCK] = "flock",		[VM_FALLOCATE] = "fallocate",
	[VM_LSEEK] = "lseek",		[VM_COPY_FILE_RANGE] = "copy_file_range",
};

void vm_count(struct vm *vm, enum vm_op op, int err)
{
	atomic_fetch_add_explicit(&vm->cnt.calls[op], 1, memory_order_relaxed);
	if (err) {
		atomic_fetch_add_explicit(&vm->cnt.errors[op], 1,
					  memory_order_relaxed);
		if (err == -ENOTCONN)
			atomic_fetch_add_explicit(&vm->cnt.enotconn, 1,
						  memory_order_relaxed);
	}
}

int vm_stats_text(struct vm *vm, char *buf, size_t size)
{
	unsigned long long total = 0, errs = 0;
	size_t pos = 0, nnodes, nfiles;
	struct vdax_stats dax;

#define OUT(...)                                                              \
	do {                                                                  \
		int w_ = snprintf(buf + pos, size - pos, __VA_ARGS__);        \
		if (w_ > 0)                                                   \
			pos = pos + (size_t)w_ < size ? pos + (size_t)w_ :    \
							size - 1;             \
	} while (0)

	pthread_mutex_lock(&vm->lock);
	nnodes = vm->nnodes;
	nfiles = vm->nfiles;
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < VM_NR_OPS; i++) {
		total += atomic_load(&vm->cnt.calls[i]);
		errs += atomic_load(&vm->cnt.errors[i]);
	}
	OUT("uptime_s %lld\n", (long long)(time(NULL) - vm->started));
	OUT("fuse_proto_minor %u\n", vdax_proto_minor(vm->vd));
	OUT("max_write %zu\n", vdax_max_write(vm->vd));
	OUT("direct_io %d\n", vm->direct_io);
	OUT("nodes %zu\n", nnodes);
	OUT("open_handles %zu\n", nfiles);
	OUT("requests %llu\n", total);
	OUT("errors %llu\n", errs);
	OUT("backend_gone %llu\n", atomic_load(&vm->cnt.enotconn));
	OUT("bytes_read %llu\n", atomic_load(&vm->cnt.bytes_read));
	OUT("bytes_written %llu\n", atomic_load(&vm->cnt.bytes_written));
	OUT("window_reads %llu\n", atomic_load(&vm->cnt.window_reads));
	OUT("dax %s\n", vm->dax_mode);
	if (!vdax_get_stats(vm->vd, &dax)) {
		const struct {
			const char *name;
			uint64_t v;
		} rows[] = {
			{ "window_size", dax.window_size },
			{ "ranges_total", dax.ranges_total },
			{ "ranges_free", dax.ranges_free },
			{ "ranges_busy", dax.ranges_busy },
			{ "setup_mappings", dax.setup_mappings },
			{ "remove_mappings", dax.remove_mappings },
			{ "remove_requests", dax.remove_requests },
			{ "upgrades", dax.upgrades },
			{ "bg_reclaims", dax.bg_reclaims },
			{ "direct_reclaims", dax.direct_reclaims },
			{ "waits", dax.waits },
			{ "hits", dax.hits },
			{ "misses", dax.misses },
			{ "faults", dax.faults },
			{ "admissions", dax.admissions },
			{ "bypasses", dax.bypasses },
			{ "ghost_hits", dax.ghost_hits },
			{ "readaheads", dax.readaheads },
			{ "admit_margin", dax.admit_margin },
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			OUT("dax.%s %llu\n", rows[i].name,
			    (unsigned long long)rows[i].v);
	}
	for (int i = 0; i < VM_NR_OPS; i++) {
		unsigned long long c = atomic_load(&vm->cnt.calls[i]);

		if (c)
			OUT("op.%s %llu %llu\n", vm_op_names[i], c,
			    atomic_load(&vm->cnt.errors[i]));
	}
#undef OUT
	return (int)pos;
}

int vmnt_stats_main(int argc, char **argv)
{
	char buf[8192];
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: vdax stats MOUNTPOINT\n");
		return EX_USAGE;
	}
	n = getxattr(argv[1], VMNT_STATS_XATTR, buf, sizeof(buf) - 1);
	if (n < 0) {
		int e = errno;

		fprintf(stderr, "vdax: stats %s: %s%s\n", argv[1], strerror(e),
			e == ENODATA || e == ENOTSUP ?
				" (not a vdax mount?)" : "");
		return e == ENOENT ? EX_NOINPUT : EX_UNAVAILABLE;
	}
	buf[n] = '\0';
	fputs(buf, stdout);
	return 0;
}

