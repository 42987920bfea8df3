#!/usr/bin/env bash
# `git sops encrypt -i` and `git sops rotate` on a full disk (a small tmpfs filled up) and on
# read-only files and folders: a clear error naming the file, the original intact, no temporary
# file left, and the same command succeeds once there is room again.
#
# Mounting needs a private mount namespace: the test re-runs itself under `unshare -m` as root,
# else under `unshare -rm` (a user namespace). Read-only comes three ways, as each is possible:
# a read-only bind mount (EROFS), `chattr +i` (real root only), and chmod a-w with the command
# run as an unprivileged user through setpriv (chmod does not stop root).
if [ -z "${FAULT_DISK_NS:-}" ]; then
  export FAULT_DISK_NS=1
  if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then exec unshare -m bash "$0" "$@"; fi
  if unshare -rm true 2>/dev/null; then exec unshare -rm bash "$0" "$@"; fi
  FAULT_DISK_NS=none
fi
source "$TESTLIB"
source "$(dirname "$0")/../fake-kubectl/lifecycle.sh"
OUT="$T_ROOT/out"
mkdir -p "$OUT"
MARK=PLAINMARK

if [ "$FAULT_DISK_NS" = none ]; then
  echo "fault_disk: no mount namespace can be made here (unshare -m and -rm both refused): the disk-full and bind-mount cases do not run" \
       "here"
fi
can_mount() { [ "$FAULT_DISK_NS" = 1 ]; }
# Real root keeps CAP_LINUX_IMMUTABLE; in a user namespace chattr +i is refused.
can_chattr() { touch "$OUT/probe" && chattr +i "$OUT/probe" 2>/dev/null && chattr -i "$OUT/probe"; }
can_setpriv() { [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
                setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; }
echo "fault_disk: mounts: $(can_mount && echo yes || echo no), chattr +i: $(can_chattr && echo yes || echo no)," \
     "setpriv: $(can_setpriv && echo yes || echo no)"

"$GIT_SOPS" keygen -o "$T_ROOT/key.txt" 2>/dev/null
R=$("$GIT_SOPS" keygen -y "$T_ROOT/key.txt")

# one_clear_line DESC ERRFILE PATTERN...: exactly one line, ours, matching every PATTERN.
one_clear_line() {
  local d=$1 f=$2 p ok=1
  shift 2
  echo "  $d -> $(head -c 300 "$f")"
  [ "$(wc -l <"$f")" -eq 1 ] && grep -q '^git-sops: ' "$f" || ok=0
  for p in "$@"; do grep -qi -- "$p" "$f" || ok=0; done
  if [ "$ok" -eq 1 ]; then pass; else fail "$d: stderr was [$(cat "$f")]"; fi
}
# no_tmp DESC DIR: no temporary file of an atomic write left in DIR.
no_tmp() { check_eq "$1: no temporary file left" "" "$(find "$2" -name '.*.git-sops-*.tmp' 2>/dev/null)"; }
# fill DIR: takes every free block of DIR's file system.
fill() { dd if=/dev/zero of="$1/filler" bs=4096 status=none 2>/dev/null; sync; }

plain_file() { for i in $(seq 1 400); do echo "key$i: $MARK-$i"; done; }

# ---- encrypt -i on a full disk --------------------------------------------------------------------
encrypt_full() {
  local D="$T_ROOT/full"
  mkdir -p "$D" && mount -t tmpfs -o size=256k tmpfs "$D" || { fail "mount a 256k tmpfs"; return; }
  plain_file >"$D/big.yaml"
  cp "$D/big.yaml" "$OUT/big.orig"
  fill "$D"
  (cd "$D" && "$GIT_SOPS" encrypt -i --age "$R" big.yaml) >"$OUT/full.out" 2>"$OUT/full.err"
  rc=$?
  check "encrypt -i on a full disk: fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 128
  one_clear_line "encrypt -i on a full disk" "$OUT/full.err" 'big.yaml' 'no space left on device'
  check_files_equal "encrypt -i on a full disk: the file is intact" "$OUT/big.orig" "$D/big.yaml"
  no_tmp "encrypt -i on a full disk" "$D"
  check_eq "encrypt -i on a full disk: nothing on stdout" 0 "$(stat -c %s "$OUT/full.out")"
  rm -f "$D/filler"
  (cd "$D" && "$GIT_SOPS" encrypt -i --age "$R" big.yaml) 2>"$OUT/full.err"
  check_eq "encrypt -i once there is room: exit 0 ($(cat "$OUT/full.err"))" 0 "$?"
  check "encrypt -i once there is room: decrypts to the original" \
    bash -c "cd '$D' && SOPS_AGE_KEY_FILE='$T_ROOT/key.txt' '$GIT_SOPS' decrypt big.yaml | cmp -s - '$OUT/big.orig'"
  umount "$D"
}

# ---- encrypt -i on read-only files and folders -------------------------------------------------
# ro_case HOW DESC: HOW is a function that makes $D (or $D/big.yaml) read-only and one that undoes it.
ro_case() {
  local how=$1 desc=$2 runner=${3:-}
  D="$T_ROOT/ro-$how"
  mkdir -p "$D"
  plain_file >"$D/big.yaml"
  cp "$D/big.yaml" "$OUT/big.orig"
  "ro_${how}_on" || { fail "$desc: could not make it read-only"; return; }
  (cd "$D" && $runner "$GIT_SOPS" encrypt -i --age "$R" big.yaml) >"$OUT/ro.out" 2>"$OUT/ro.err"
  rc=$?
  check "encrypt -i, $desc: fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 128
  one_clear_line "encrypt -i, $desc" "$OUT/ro.err" 'big.yaml'
  check_files_equal "encrypt -i, $desc: the file is intact" "$OUT/big.orig" "$D/big.yaml"
  no_tmp "encrypt -i, $desc" "$D"
  "ro_${how}_off"
  (cd "$D" && $runner "$GIT_SOPS" encrypt -i --age "$R" big.yaml) 2>"$OUT/ro.err"
  check_eq "encrypt -i, $desc, writable again: exit 0 ($(cat "$OUT/ro.err"))" 0 "$?"
}
ro_bind_on() { mount --bind "$D" "$D" && mount -o remount,bind,ro "$D"; }
ro_bind_off() { umount "$D"; }
ro_chattr_file_on() { chattr +i "$D/big.yaml"; }
ro_chattr_file_off() { chattr -i "$D/big.yaml"; }
ro_chattr_dir_on() { chattr +i "$D/big.yaml" && chattr +i "$D"; }
ro_chattr_dir_off() { chattr -i "$D" && chattr -i "$D/big.yaml"; }
ro_chmod_on() { chmod a-w "$D/big.yaml" "$D"; }
ro_chmod_off() { chmod u+w "$D/big.yaml" "$D"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

if can_mount; then
  encrypt_full
  ro_case bind "a read-only bind mount of the folder"
fi
if can_chattr; then
  ro_case chattr_file "an immutable file (chattr +i) in a writable folder"
  ro_case chattr_dir "an immutable file in an immutable folder"
fi
if can_setpriv; then
  # The unprivileged user needs to reach the binary, the key and the folder.
  chmod 755 "$T_ROOT"
  chmod 644 "$T_ROOT/key.txt"
  ro_case chmod "chmod a-w on the file and its folder, run as nobody" as_nobody
  chmod 700 "$T_ROOT"
elif [ "$(id -u)" -ne 0 ]; then
  ro_case chmod "chmod a-w on the file and its folder"
fi

# ---- rotate on a full disk and on a read-only folder -----------------------------------------------
printf '#!/bin/bash\nsed -i "s/  key: value/  user: u-$(basename "$1")\\n  password: %s-$RANDOM/" "$1"\n' "$MARK" >"$T_BIN/fill"
chmod +x "$T_BIN/fill"
FILES=(apps/a-secret.yaml apps/b-secret.yaml apps/c-secret.yaml)
# rotate_repo NAME: a repository with three Secrets of the cluster's rule, plaintext saved.
rotate_repo() {
  rm -rf "$FAKE_KUBE_DIR/secrets"   # a fresh cluster: init of an existing key is a no-op
  new_repo "$1"
  "$GIT_SOPS" init >/dev/null 2>"$OUT/init.err" || fail "init: $(cat "$OUT/init.err")"
  for f in "${FILES[@]}"; do
    EDITOR="$T_BIN/fill" "$GIT_SOPS" edit "$f" 2>/dev/null || fail "create $f"
    mkdir -p "$OUT/$1/apps"
    SOPS_AGE_KEY="$(cluster_key)" "$GIT_SOPS" decrypt "$f" >"$OUT/$1/$f"
  done
  git add -A && git commit -qm secrets
}
opens_with() { SOPS_AGE_KEY="$1" "$GIT_SOPS" decrypt "$2" 2>/dev/null | cmp -s - "$OUT/${REPO##*/}/$2"; }
opens_either() { opens_with "$1" "$3" || opens_with "$2" "$3"; }
# rotate_refused DESC PATTERN [RUNNER]: rotate fails with a clear last line; every file still
# opens with the old or the new key; a rerun once writable finishes it.
rotate_refused() {
  local d=$1 pattern=$2 old mid f rc
  old=$(cluster_key)
  "$GIT_SOPS" rotate >"$OUT/rot.out" 2>"$OUT/rot.err"
  rc=$?
  rm -f "$OUT/rot.out"
  echo "  rotate, $d -> exit $rc, $(tail -1 "$OUT/rot.err" | head -c 300)"
  check "rotate, $d: fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 128
  check "rotate, $d: the last line says why ($(tail -1 "$OUT/rot.err"))" \
    bash -c "tail -1 '$OUT/rot.err' | grep -q '^git-sops: ' && tail -1 '$OUT/rot.err' | grep -qi -- '$pattern'"
  mid=$(cluster_key)
  for f in "${FILES[@]}"; do
    check "rotate, $d: $f opens with the old or the new key" opens_either "$old" "$mid" "$f"
  done
  no_tmp "rotate, $d" "$REPO/apps"
  check_eq "rotate, $d: no plaintext left in the repository" "" "$(grep -rlaF "$MARK" "$REPO" "$TMPDIR" "$XDG_RUNTIME_DIR")"
}
rotate_rerun() {
  local d=$1 new f
  "$GIT_SOPS" rotate >"$OUT/rot.out" 2>"$OUT/rot.err"
  check_eq "rotate, $d, rerun with room: exit 0 ($(tail -1 "$OUT/rot.err"))" 0 "$?"
  rm -f "$OUT/rot.out"
  new=$(cluster_key)
  for f in "${FILES[@]}"; do check "rotate, $d, rerun: $f opens with the new key alone" opens_with "$new" "$f"; done
}

if can_mount; then
  mkdir -p "$T_ROOT/rotfull" && mount -t tmpfs -o size=2m tmpfs "$T_ROOT/rotfull" || fail "mount a 2m tmpfs"
  rotate_repo rotfull
  fill "$REPO"
  rotate_refused "full disk" 'no space left on device'
  rm -f "$REPO/filler"
  rotate_rerun "full disk"
  git commit -qam rotated && "$GIT_SOPS" rotate --finish >/dev/null 2>&1
  # Room for a few pages only: the journal fits and a file write may not, so the rotation stops
  # part-way. Whatever it managed, every file opens and a rerun with room finishes it.
  for pages in 1 2 3 4 5 6; do
    dd if=/dev/zero of="$REPO/pad" bs=4096 count="$pages" status=none
    fill "$REPO"
    rm -f "$REPO/pad"
    old=$(cluster_key)
    "$GIT_SOPS" rotate >"$OUT/rot.out" 2>"$OUT/rot.err"
    rc=$?
    rm -f "$OUT/rot.out"
    echo "  rotate with $pages free page(s) -> exit $rc, $(tail -1 "$OUT/rot.err" | head -c 200)"
    if [ "$rc" -ne 0 ]; then
      check "rotate with $pages free page(s): a clear last line" bash -c "tail -1 '$OUT/rot.err' | grep -q '^git-sops: .*o space left on device'"
    fi
    mid=$(cluster_key)
    for f in "${FILES[@]}"; do
      check "rotate with $pages free page(s): $f opens with the old or the new key" opens_either "$old" "$mid" "$f"
    done
    no_tmp "rotate with $pages free page(s)" "$REPO"
    rm -f "$REPO/filler"
    [ "$rc" -ne 0 ] && rotate_rerun "$pages free page(s)"
    git commit -qam "rotated ($pages)" && "$GIT_SOPS" rotate --finish >/dev/null 2>&1
  done
  cd "$T_ROOT" && umount "$T_ROOT/rotfull"

  rotate_repo rotro
  D="$REPO/apps"
  ro_bind_on || fail "read-only bind mount of apps/"
  rotate_refused "read-only folder (bind mount)" 'read-only file system'
  ro_bind_off
  rotate_rerun "read-only folder (bind mount)"
fi
if can_chattr; then
  rotate_repo rotimm
  chattr +i "$REPO/apps/b-secret.yaml"
  rotate_refused "one immutable file (chattr +i)" 'b-secret.yaml'
  chattr -i "$REPO/apps/b-secret.yaml"
  rotate_rerun "one immutable file (chattr +i)"
fi

finish
