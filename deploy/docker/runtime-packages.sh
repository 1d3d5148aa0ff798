#!/bin/sh
# Prints the Debian packages that own the shared libraries BINARY is linked against, so that the
# Docker runtime stage installs exactly those (and no -dev package). Run where the binary was
# built. Fails if a library belongs to no package. Usage: runtime-packages.sh BINARY
set -eu
binary=$1
libs=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
[ -n "$libs" ] || { echo "runtime-packages.sh: ldd found no libraries in $binary" >&2; exit 1; }
for lib in $libs; do
  # Debian 12 merges /lib into /usr/lib, but dpkg records whichever path the package shipped.
  found=""
  for path in "$lib" "$(realpath "$lib")" "/usr$lib" "${lib#/usr}" "$(realpath "$lib" | sed 's#^/usr##')"; do
    if owner=$(dpkg -S "$path" 2>/dev/null); then found=${owner%%:*}; break; fi
  done
  [ -n "$found" ] || { echo "runtime-packages.sh: no package owns $lib" >&2; exit 1; }
  echo "$found"
done | sort -u | tr '\n' ' ' | sed 's/ $//'
echo
