#!/bin/bash
# PID 1 of a systemd lab: a private PID + mount namespace (started by test/system/lab.ts through
# `unshare --pid --fork --mount-proc --mount --propagation private`) in which a real
# systemd-journald and a real `systemd --user` for a throwaway user run, on a host whose PID 1 is
# not systemd. Nothing here is visible outside the namespace; when this process exits, the kernel
# kills everything left inside it.
#
# Inputs (env): LAB_DIR LAB_UID LAB_GID LAB_USER LAB_HOME LAB_CGROUP_PROCS (space-separated
# cgroup.procs files of the delegated user@UID.service cgroup, one per hierarchy).
# Output: $LAB_DIR/ready once journald and the manager were started (lab.ts then waits for the
# manager to reach "running"); logs in $LAB_DIR/{journald,manager}.log.
set -euo pipefail
: "${LAB_DIR:?}" "${LAB_UID:?}" "${LAB_GID:?}" "${LAB_USER:?}" "${LAB_HOME:?}" "${LAB_CGROUP_PROCS:?}"
rt=/run/user/$LAB_UID

# The parts of the filesystem systemd looks at, private to this namespace.
mount -t tmpfs -o mode=755 lab-run-systemd /run/systemd
mkdir -p /run/systemd/system /run/systemd/journal      # /run/systemd/system: sd_booted() is true
mkdir -p /run/log && mount -t tmpfs -o mode=755 lab-run-log /run/log
mount -t tmpfs -o mode=755 lab-run-user /run/user
mkdir -m 700 "$rt" && chown "$LAB_UID:$LAB_GID" "$rt"
# Persistent journal in the lab dir: with a volatile one, `journalctl --user` as the user is refused.
mount --bind "$LAB_DIR/journal" /var/log/journal
mount --bind "$LAB_DIR/journald.conf" /etc/systemd/journald.conf

/usr/lib/systemd/systemd-journald >"$LAB_DIR/journald.log" 2>&1 &
jpid=$!
for _ in $(seq 200); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.025; done
[ -S /run/systemd/journal/stdout ] || { echo "journald did not come up" >&2; exit 1; }
journalctl --flush >/dev/null 2>&1 || true

# The user manager, inside its delegated cgroup (the real user@UID.service name: journald derives
# _SYSTEMD_USER_UNIT from it, and `journalctl --user -u` matches on that).
(
  for procs in $LAB_CGROUP_PROCS; do echo "$BASHPID" >"$procs"; done
  cd /
  exec setpriv --reuid="$LAB_UID" --regid="$LAB_GID" --init-groups \
    env -i HOME="$LAB_HOME" USER="$LAB_USER" LOGNAME="$LAB_USER" SHELL=/bin/bash \
    XDG_RUNTIME_DIR="$rt" PATH=/usr/local/bin:/usr/bin:/bin \
    /usr/lib/systemd/systemd --user --log-target=journal-or-kmsg
) >"$LAB_DIR/manager.log" 2>&1 &
mpid=$!

shutdown() {
  kill -TERM "$mpid" 2>/dev/null || true # the manager stops every unit, then exits
  for _ in $(seq 200); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.025; done
  kill -TERM "$jpid" 2>/dev/null || true
  wait 2>/dev/null || true
  exit 0
}
trap shutdown TERM INT
touch "$LAB_DIR/ready"
while :; do
  wait -n || true
  kill -0 "$mpid" 2>/dev/null || { echo "user manager exited" >&2; shutdown; }
done
