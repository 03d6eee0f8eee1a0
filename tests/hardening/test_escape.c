// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Path escapes, end to end through the real vdaxd: a guest (here, the fake
 * frontend) tries every way we know to name, open, read, change or create
 * something outside the shared directory. Run with "default" (namespace +
 * seccomp kill) and with "none" (no sandbox: the passthrough alone must
 * hold), each also with "-fh" (inodes held by file handles). A canary file
 * next to the shared directory must never be read or changed; every reply
 * is scanned for its secret.
 *
 *   tmp/canary            secret, 0600, old mtime, user.secret xattr
 *   tmp/outside/secret    secret too
 *   tmp/shared/           what vdaxd serves
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tap.h"
#include "hx.h"

#define ROOT FUSE_ROOT_ID

static char tmp[128], shared[200], canary[200], outside[200];
static char secret[64];
static struct stat canary_st;
static bool have_bind, have_xattr;

static void host_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", shared, rel);
}

static void host_mkdir(const char *rel)
{
	char p[400];

	host_path(p, sizeof(p), rel);
	if (mkdir(p, 0755) && errno != EEXIST)
		tap_bail("mkdir");
}

static void host_symlink(const char *target, const char *rel)
{
	char p[400];

	host_path(p, sizeof(p), rel);
	if (symlink(target, p))
		tap_bail("symlink");
}

static void host_file(const char *rel, const char *content)
{
	char p[400];

	host_path(p, sizeof(p), rel);
	if (hx_write_file(p, content, strlen(content), 0644))
		tap_bail("write file");
}

static void setup_tree(void)
{
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char p[400];
	int fd;

	snprintf(secret, sizeof(secret), "CANARY-%08x-%d", (unsigned)random(),
		 (int)getpid());
	snprintf(shared, sizeof(shared), "%s/shared", tmp);
	snprintf(canary, sizeof(canary), "%s/canary", tmp);
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	if (mkdir(shared, 0755) || mkdir(outside, 0755))
		tap_bail("mkdir");
	if (hx_write_file(canary, secret, strlen(secret), 0600))
		tap_bail("canary");
	have_xattr = !setxattr(canary, "user.secret", secret, strlen(secret), 0);
	if (utimensat(AT_FDCWD, canary, old, 0) || stat(canary, &canary_st))
		tap_bail("canary times");
	snprintf(p, sizeof(p), "%s/secret", outside);
	if (hx_write_file(p, secret, strlen(secret), 0644))
		tap_bail("outside/secret");

	host_mkdir("a");
	host_mkdir("a/b");
	host_mkdir("a/b/c");
	host_mkdir("a/b/c/d");
	host_file("file.txt", "public");
	host_file("other.txt", "other");
	host_symlink(canary, "abs_link");
	host_symlink("../canary", "rel_link");
	host_symlink("../../../../../../../../../../canary", "a/b/climb");
	host_symlink("/proc/self/root", "proc_root");
	host_symlink("/proc/self/root/etc/passwd", "proc_passwd");
	host_symlink("/proc/self/fd/3", "proc_fd");
	host_symlink("/etc/passwd", "passwd");
	host_symlink(outside, "out_dir");
	host_symlink(canary, "a/b/c/d/deep_link");
	host_mkdir("sw");
	host_file("sw/f", "swap-original");
	host_file("sf", "sf-original");
	host_mkdir("mnt");

	/*
	 * A bind mount inside the shared directory showing a directory
	 * outside it, in our own mount namespace (never on the host's).
	 */
	snprintf(p, sizeof(p), "%s/mnt", shared);
	have_bind = unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount(outside, p, NULL, MS_BIND, NULL) == 0;
	if (!have_bind)
		diag("no bind mount here (%s): those checks are skipped",
		     strerror(errno));
	fd = open(p, O_RDONLY);
	if (fd >= 0)
		close(fd);
}

/* Nodeid of a path made of components, looked up one by one. */
static uint64_t walk(struct hx_conn *c, const char *const *names, unsigned n)
{
	struct fuse_entry_out e;
	uint64_t id = ROOT;

	for (unsigned i = 0; i < n; i++) {
		if (hx_lookup(c, id, names[i], &e))
			return 0;
		id = e.nodeid;
	}
	return id;
}

static void check_dotdot(struct hx_conn *c)
{
	static const char *const path[] = { "a", "b", "c", "d" };
	struct fuse_entry_out e;
	uint64_t ids[5];
	struct stat st;
	int rc;

	rc = hx_lookup(c, ROOT, "..", &e);
	ok(rc == 0 && e.nodeid == ROOT, "LOOKUP .. of the root is the root");
	rc = hx_lookup(c, ROOT, ".", &e);
	ok(rc == 0 && e.nodeid == ROOT, "LOOKUP . of the root is the root");
	stat(shared, &st);
	rc = hx_lookup(c, ROOT, "..", &e);
	ok(rc == 0 && e.attr.ino == st.st_ino,
	   "LOOKUP .. of the root: attributes of the shared dir, not its parent");

	ids[0] = ROOT;
	for (unsigned i = 0; i < 4; i++)
		ids[i + 1] = walk(c, path, i + 1);
	for (unsigned depth = 1; depth <= 4; depth++) {
		uint64_t id = ids[depth];

		/* Climb one more than the depth: never above the root. */
		for (unsigned up = 1; up <= depth + 1; up++) {
			rc = hx_lookup(c, id, "..", &e);
			if (rc)
				break;
			id = e.nodeid;
		}
		ok(rc == 0 && id == ROOT,
		   "%u x LOOKUP .. from depth %u stops at the root", depth + 1,
		   depth);
	}
	rc = hx_lookup(c, ids[4], "..", &e);
	ok(rc == 0 && e.nodeid == ids[3], "LOOKUP .. of a/b/c/d is a/b/c");
}

static void check_names(struct hx_conn *c)
{
	struct fuse_entry_out e;
	uint64_t id;
	char longname[300];

	is_int(hx_lookup(c, ROOT, "a/b", &e), -EINVAL, "LOOKUP a name with '/'");
	is_int(hx_lookup(c, ROOT, "../canary", &e), -EINVAL,
	       "LOOKUP ../canary");
	is_int(hx_lookup(c, ROOT, canary, &e), -EINVAL,
	       "LOOKUP the canary's absolute path");
	is_int(hx_lookup(c, ROOT, "/", &e), -EINVAL, "LOOKUP \"/\"");
	is_int(hx_lookup(c, ROOT, "", &e), -EINVAL, "LOOKUP \"\"");
	is_int(hx_lookup(c, ROOT, "...", &e), -ENOENT,
	       "LOOKUP \"...\" is an ordinary (missing) name");
	is_int(hx_lookup(c, ROOT, "./file.txt", &e), -EINVAL,
	       "LOOKUP ./file.txt");
	memset(longname, 'x', 256);
	longname[256] = '\0';
	is_int(hx_lookup(c, ROOT, longname, &e), -ENAMETOOLONG,
	       "LOOKUP a 256-byte name");
	id = walk(c, (const char *const[]){ "file.txt" }, 1);
	is_int(hx_lookup(c, id, "..", &e), -ENOTDIR, "LOOKUP .. in a file");
	is_int(hx_mkdir(c, ROOT, "..", NULL), -EINVAL, "MKDIR ..");
	is_int(hx_create(c, ROOT, ".", O_RDWR, S_IFREG | 0644, NULL, NULL),
	       -EINVAL, "CREATE .");
	is_int(hx_mknod(c, ROOT, "../escaped", S_IFREG | 0644, 0, NULL),
	       -EINVAL, "MKNOD ../escaped");
	is_int(hx_symlink(c, ROOT, "x/y", "target", NULL), -EINVAL,
	       "SYMLINK named x/y");
}

static bool read_all(struct hx_conn *c, uint64_t id, uint64_t fh, char *buf,
		     size_t size)
{
	size_t n = 0;

	memset(buf, 0, size);
	return hx_read(c, id, fh, 0, (uint32_t)size - 1, buf, size - 1, &n) == 0;
}

static void check_symlinks(struct hx_conn *c)
{
	static const char *const links[] = { "abs_link", "rel_link", "passwd",
					     "proc_passwd", "proc_fd",
					     "proc_root" };
	struct fuse_entry_out e;
	uint64_t fh, id;
	char buf[256];
	int rc;

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		rc = hx_lookup(c, ROOT, links[i], &e);
		if (rc == 0)
			rc = S_ISLNK(e.attr.mode) ? hx_open(c, e.nodeid, O_RDONLY, &fh)
						  : -EPROTO;
		is_int(rc, -ELOOP, "OPEN of symlink %s: ELOOP", links[i]);
	}
	id = walk(c, (const char *const[]){ "a", "b", "climb" }, 3);
	is_int(id ? hx_open(c, id, O_RDWR | O_TRUNC, &fh) : -ENOENT, -ELOOP,
	       "OPEN O_TRUNC of a ../../.. symlink chain: ELOOP");
	id = walk(c, (const char *const[]){ "a", "b", "c", "d", "deep_link" }, 5);
	is_int(id ? hx_open(c, id, O_RDONLY | O_NOFOLLOW, &fh) : -ENOENT, -ELOOP,
	       "OPEN O_NOFOLLOW of a deep symlink: ELOOP");

	id = walk(c, (const char *const[]){ "proc_root" }, 1);
	is_int(id ? hx_lookup(c, id, "etc", &e) : -ENOENT, -ENOTDIR,
	       "LOOKUP through a symlink to /proc/self/root: ENOTDIR");
	id = walk(c, (const char *const[]){ "out_dir" }, 1);
	is_int(id ? hx_lookup(c, id, "secret", &e) : -ENOENT, -ENOTDIR,
	       "LOOKUP through a symlink to a dir outside: ENOTDIR");
	is_int(id ? hx_opendir(c, id, &fh) : -ENOENT, -ENOTDIR,
	       "OPENDIR of a symlink to a dir outside: ENOTDIR");
	is_int(id ? hx_create(c, id, "new", O_RDWR, S_IFREG | 0644, NULL, NULL)
		  : -ENOENT, -ENOTDIR,
	       "CREATE inside a symlink to a dir outside: ENOTDIR");

	id = walk(c, (const char *const[]){ "abs_link" }, 1);
	rc = id ? hx_readlink(c, id, buf, sizeof(buf)) : -ENOENT;
	ok(rc == 0 && !strcmp(buf, canary),
	   "READLINK returns the target as text (%s)", rc ? "error" : buf);
	id = walk(c, (const char *const[]){ "file.txt" }, 1);
	is_int(id ? hx_readlink(c, id, buf, sizeof(buf)) : -ENOENT, -EINVAL,
	       "READLINK of a regular file: EINVAL");

	/* Names that are existing symlinks, used to create or truncate. */
	is_int(hx_create(c, ROOT, "abs_link", O_RDWR | O_TRUNC, S_IFREG | 0644,
			 NULL, NULL),
	       -ELOOP, "CREATE O_TRUNC over a symlink to the canary: ELOOP");
	is_int(hx_create(c, ROOT, "passwd", O_WRONLY | O_APPEND, S_IFREG | 0644,
			 NULL, NULL),
	       -ELOOP, "CREATE O_APPEND over a symlink to /etc/passwd: ELOOP");

	/* A symlink the guest makes itself is text too. */
	rc = hx_symlink(c, ROOT, "mine", "../../../../canary", &id);
	is_int(rc == 0 ? hx_open(c, id, O_RDONLY, &fh) : rc, -ELOOP,
	       "OPEN of a guest-made symlink climbing out: ELOOP");

	/* SETATTR on symlinks changes the link or fails; never the target. */
	id = walk(c, (const char *const[]){ "abs_link" }, 1);
	{
		struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };

		rc = id ? hx_setattr(c, id, &sa) : -ENOENT;
		ok(rc < 0 && rc != HX_NOREPLY,
		   "SETATTR size 0 on a symlink fails (%d)", rc);
		sa = (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0666 };
		rc = id ? hx_setattr(c, id, &sa) : -ENOENT;
		ok(rc < 0 && rc != HX_NOREPLY,
		   "SETATTR mode 0666 on a symlink fails (%d)", rc);
		sa = (struct fuse_setattr_in){ .valid = FATTR_MTIME,
					       .mtime = 2000000000 };
		rc = id ? hx_setattr(c, id, &sa) : -ENOENT;
		ok(rc != HX_NOREPLY, "SETATTR mtime on a symlink answered (%d)",
		   rc);
	}
}

static void check_swaps(struct hx_conn *c)
{
	char from[400], to[400], buf[128];
	struct fuse_entry_out e;
	uint64_t dir, file, fh, sf;
	int rc;

	/* A directory swapped for a symlink to outside after LOOKUP. */
	dir = walk(c, (const char *const[]){ "sw" }, 1);
	file = walk(c, (const char *const[]){ "sw", "f" }, 2);
	sf = walk(c, (const char *const[]){ "sf" }, 1);
	host_path(from, sizeof(from), "sw");
	host_path(to, sizeof(to), "sw.old");
	if (rename(from, to) || symlink(outside, from))
		tap_bail("swap sw");
	rc = file ? hx_open(c, file, O_RDONLY, &fh) : -ENOENT;
	ok(rc == 0 && read_all(c, file, fh, buf, sizeof(buf)) &&
	   !strcmp(buf, "swap-original"),
	   "OPEN after the dir became a symlink reads the original file");
	is_int(dir ? hx_lookup(c, dir, "secret", &e) : -ESTALE, -ENOENT,
	       "LOOKUP in the old dir inode does not follow the new symlink");
	rc = hx_lookup(c, ROOT, "sw", &e);
	ok(rc == 0 && S_ISLNK(e.attr.mode) &&
	   hx_lookup(c, e.nodeid, "secret", NULL) == -ENOTDIR,
	   "LOOKUP sw again: a symlink, nothing to look up in it");

	/* A file swapped for a symlink to the canary between LOOKUP and OPEN. */
	host_path(from, sizeof(from), "sf");
	host_path(to, sizeof(to), "sf.tmp");
	if (symlink(canary, to) || rename(to, from))
		tap_bail("swap sf");
	rc = sf ? hx_open(c, sf, O_RDWR, &fh) : -ENOENT;
	ok(rc == -ENOENT || rc == -ESTALE ||
	   (rc == 0 && read_all(c, sf, fh, buf, sizeof(buf)) &&
	    !strcmp(buf, "sf-original")),
	   "OPEN of a file replaced by a symlink: the old inode or an error (%d)",
	   rc);
	if (rc == 0)
		hx_write(c, sf, fh, 0, "XXXX", 4);
}

static void check_links_and_renames(struct hx_conn *c)
{
	char p[400];
	struct stat a, b;
	uint64_t file, id, dir;
	int rc;

	file = walk(c, (const char *const[]){ "file.txt" }, 1);
	dir = walk(c, (const char *const[]){ "a" }, 1);
	is_int(hx_link(c, 0x0000000500000007ull, ROOT, "forged", NULL), -ESTALE,
	       "LINK of a forged nodeid: ESTALE");
	is_int(hx_link(c, (2ull << 32) | (uint32_t)file, ROOT, "forged2", NULL),
	       -ESTALE, "LINK of a real index with a wrong generation: ESTALE");
	is_int(hx_link(c, ROOT, dir, "rootlink", NULL), -EPERM,
	       "LINK of the root directory: EPERM");
	is_int(hx_link(c, file, ROOT, "../escaped", NULL), -EINVAL,
	       "LINK to ../escaped: EINVAL");
	rc = hx_link(c, file, dir, "hard", &id);
	host_path(p, sizeof(p), "a/hard");
	ok((rc == 0 && !stat(p, &a) && !stat(strcat(strcpy(p, shared),
						      "/file.txt"), &b) &&
	    a.st_ino == b.st_ino) ||
	   (rc < 0 && rc != HX_NOREPLY && stat(p, &a) < 0),
	   "LINK of a real file lands inside the shared dir (%d)", rc);

	is_int(hx_rename(c, ROOT, "other.txt", ROOT, "../escaped"), -EINVAL,
	       "RENAME to ../escaped: EINVAL");
	is_int(hx_rename(c, dir, "..", ROOT, "moved"), -EINVAL,
	       "RENAME of ..: EINVAL");
	is_int(hx_rename(c, ROOT, "other.txt", 0x123456789ull, "x"), -ESTALE,
	       "RENAME into a forged directory nodeid: ESTALE");
	is_int(hx_rename(c, ROOT, "other.txt", ROOT, "/tmp/escaped"), -EINVAL,
	       "RENAME to an absolute name: EINVAL");
	snprintf(p, sizeof(p), "%s/escaped", tmp);
	ok(access(p, F_OK) < 0, "nothing appeared next to the shared dir");
	id = walk(c, (const char *const[]){ "other.txt" }, 1);
	ok(id != 0, "the file renamed in vain is still there");
}

static void check_devices(struct hx_conn *c)
{
	char buf[4096];
	uint64_t id, fh;
	size_t n = 0;
	int rc;

	/* /dev/zero's numbers: reading it would give bytes an empty file can't. */
	rc = hx_mknod(c, ROOT, "zero", S_IFCHR | 0666, makedev(1, 5), &id);
	diag("MKNOD char 1:5 -> %d", rc);
	is_int(rc == 0 ? hx_open(c, id, O_RDONLY, &fh) : -ENXIO, -ENXIO,
	       "OPEN of a char device node: ENXIO");
	rc = hx_mknod(c, ROOT, "loop", S_IFBLK | 0666, makedev(7, 0), &id);
	is_int(rc == 0 ? hx_open(c, id, O_RDWR, &fh) : -ENXIO, -ENXIO,
	       "OPEN of a block device node: ENXIO");
	/*
	 * CREATE without O_EXCL of a name that is an existing device node
	 * must not open the device either.
	 */
	rc = hx_create(c, ROOT, "zero", O_RDONLY, S_IFREG | 0644, &id, &fh);
	if (rc == 0)
		rc = hx_read(c, id, fh, 0, sizeof(buf), buf, sizeof(buf), &n);
	is_int(rc, -ENXIO, "CREATE of an existing device node: ENXIO, the "
	       "device is not opened (read %zu bytes)", n);
	rc = hx_create(c, ROOT, "fifo_probe", O_RDONLY | O_EXCL, S_IFREG | 0644,
		       &id, &fh);
	ok(rc == 0, "CREATE O_EXCL of a new name works (%d)", rc);
	id = walk(c, (const char *const[]){ "file.txt" }, 1);
	rc = hx_open(c, id, O_RDONLY | O_PATH, &fh);
	ok((rc == 0 && read_all(c, id, fh, buf, sizeof(buf)) &&
	    !strcmp(buf, "public")) || (rc < 0 && rc != HX_NOREPLY),
	   "OPEN with O_PATH gives a readable handle or an error (%d)", rc);
	rc = hx_open(c, ROOT, O_RDWR | O_TMPFILE, &fh);
	ok(rc < 0 && rc != HX_NOREPLY, "OPEN of the root with O_TMPFILE fails (%d)",
	   rc);
}

static void check_bind_and_xattr(struct hx_conn *c)
{
	struct fuse_entry_out e;
	uint64_t id;
	char buf[256];
	int rc;

	/*
	 * Decided: a bind mount the host placed under the shared directory is
	 * part of what is shared (vdaxd binds the shared dir recursively), in
	 * both modes; ".." of its root is the shared dir, never what lies
	 * above the mount's source.
	 */
	if (have_bind) {
		id = walk(c, (const char *const[]){ "mnt" }, 1);
		ok(id && hx_lookup(c, id, "secret", &e) == 0,
		   "a bind mount inside the share shows its own content");
		rc = id ? hx_lookup(c, id, "..", &e) : -ENOENT;
		ok(rc == 0 && e.nodeid == ROOT,
		   "LOOKUP .. of the bind mount's root is the shared root");
		rc = id ? hx_lookup(c, id, "canary", &e) : -ENOENT;
		is_int(rc, -ENOENT, "the canary next to the bind's source is not there");
	} else {
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP no bind mount");
	}

	if (have_xattr) {
		struct fuse_getxattr_in gi = { .size = sizeof(buf) };
		struct hx_reply r;
		char nb[64];

		id = walk(c, (const char *const[]){ "abs_link" }, 1);
		snprintf(nb, sizeof(nb), "user.secret");
		rc = id ? hx_call(c, FUSE_GETXATTR, id, &gi, sizeof(gi), nb,
				  strlen(nb) + 1, sizeof(buf), &r)
			: -ENOENT;
		ok(rc < 0 && rc != HX_NOREPLY,
		   "GETXATTR on a symlink to the canary: no canary xattr (%d)", rc);
		{
			/* Without FUSE_SETXATTR_EXT: the 8-byte fixed part. */
			const size_t fix = FUSE_COMPAT_SETXATTR_IN_SIZE;
			char sb[FUSE_COMPAT_SETXATTR_IN_SIZE + 64];
			struct fuse_setxattr_in si = { .size = 3 };
			size_t l = strlen("user.pwned") + 1;

			memcpy(sb, &si, fix);
			memcpy(sb + fix, "user.pwned", l);
			memcpy(sb + fix + l, "yes", 3);
			rc = id ? hx_call(c, FUSE_SETXATTR, id, sb, fix + l + 3,
					  NULL, 0, 0, &r)
				: -ENOENT;
			ok(getxattr(canary, "user.pwned", buf, sizeof(buf)) < 0,
			   "SETXATTR on a symlink does not reach the canary (%d)",
			   rc);
		}
	} else {
		ok(1, "# SKIP no user xattrs on this filesystem");
		ok(1, "# SKIP no user xattrs on this filesystem");
	}
}

/* Last: CREATE of an existing FIFO without O_EXCL may block a worker. */
static void check_fifo(struct hx_conn *c)
{
	uint64_t id, fh;
	int rc;

	rc = hx_mknod(c, ROOT, "fifo", S_IFIFO | 0644, 0, &id);
	is_int(rc == 0 ? hx_open(c, id, O_RDONLY, &fh) : -ENXIO, -ENXIO,
	       "OPEN of a FIFO: ENXIO");
	c->timeout_ms = 1500;
	rc = hx_create(c, ROOT, "fifo", O_RDONLY, S_IFREG | 0644, &id, &fh);
	is_int(rc, -ENXIO, "CREATE of an existing FIFO: ENXIO, never blocks");
}

static void check_canary(void)
{
	struct stat st;
	char buf[128] = { 0 };
	int fd = open(canary, O_RDONLY);

	ok(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(secret) &&
	   !strcmp(buf, secret), "the canary's content is unchanged");
	if (fd >= 0)
		close(fd);
	ok(!stat(canary, &st) && st.st_mode == canary_st.st_mode &&
	   st.st_uid == canary_st.st_uid,
	   "the canary's mode and owner are unchanged");
	ok(!stat(canary, &st) &&
	   st.st_mtim.tv_sec == canary_st.st_mtim.tv_sec &&
	   st.st_ctim.tv_sec == canary_st.st_ctim.tv_sec &&
	   st.st_ctim.tv_nsec == canary_st.st_ctim.tv_nsec,
	   "the canary's mtime and ctime are unchanged");
	is_int(hx_leaks, 0, "no reply ever carried the canary's secret");
}

int main(int argc, char **argv)
{
	bool sandbox = argc > 1 && !strncmp(argv[1], "default", 7);
	/* "-fh": inodes held by file handles, none by an fd of its own */
	bool fh = argc > 1 && strstr(argv[1], "-fh");
	static const char *const plain[] = { "--xattr", NULL };
	static const char *const handles[] = {
		"--xattr", "--inode-file-handles=mandatory", NULL
	};
	const char *const *extra = fh ? handles : plain;
	struct hx_daemon d;
	struct hx_conn c;
	int rc;

	if (!getenv("VDAXD"))
		tap_skip_all("vdaxd not built ($VDAXD unset)");
	if (sandbox && geteuid() != 0)
		tap_skip_all("the default sandbox needs root");
	srandom((unsigned)getpid());
	if (hx_tmpdir("escape", tmp, sizeof(tmp)))
		tap_bail("mkdtemp");
	setup_tree();
	rc = hx_start(&d, tmp, shared, sandbox, extra);
	if (rc == -ETIMEDOUT && sandbox) {
		hx_rmrf(tmp);
		tap_skip_all("vdaxd's default sandbox does not start here");
	}
	if (!is_int(rc, 0, "vdaxd started (%s sandbox%s)",
		    sandbox ? "default" : "no", fh ? ", file handles" : ""))
		return tap_done();
	rc = hx_open_conn(&d, &c, 1);
	if (!is_int(rc, 0, "connected, negotiated, FUSE_INIT")) {
		hx_kill(&d);
		return tap_done();
	}
	hx_secret = secret;
	check_dotdot(&c);
	check_names(&c);
	check_symlinks(&c);
	check_swaps(&c);
	check_links_and_renames(&c);
	check_devices(&c);
	check_bind_and_xattr(&c);
	check_fifo(&c);
	ok(hx_alive(&d), "the daemon is still alive");
	check_canary();
	hx_close_conn(&c);
	hx_kill(&d);
	if (have_bind) {
		char p[400];

		host_path(p, sizeof(p), "mnt");
		umount2(p, MNT_DETACH);
	}
	hx_rmrf(tmp);
	return tap_done();
}
