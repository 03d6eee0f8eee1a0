/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vdax mount / vdax stats: serve a vhost-user-fs share to the whole machine
 * through the kernel's FUSE, with libvdax as the client of the backend.
 */
#ifndef VDAX_TOOLS_MOUNT_H
#define VDAX_TOOLS_MOUNT_H

/* Virtual xattr on the mount root that returns the mount's counters. */
#define VMNT_STATS_XATTR "user.vdax.stats"

/*
 * `vdax [--socket PATH] [-o OPTS] mount [--socket PATH] [-o OPTS] [-f] [-d]
 * MOUNTPOINT`. @argv[0] is "mount"; @socket/@opts are what the global
 * options already gave (may be NULL). Returns a sysexits code.
 */
int vmnt_main(int argc, char **argv, const char *socket, const char *opts);

/* `vdax stats MOUNTPOINT`: print the counters of a vdax mount. */
int vmnt_stats_main(int argc, char **argv);

#endif
