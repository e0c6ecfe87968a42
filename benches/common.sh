# Sourced by the bench scripts, after they define `say`: installing what they need.

# apt_install PACKAGE...: installs packages from Debian, as root or through sudo.
apt_install() {
    local SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "installing $* from Debian"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# GNU time, which every script uses for peak memory.
[ -x /usr/bin/time ] || apt_install time
