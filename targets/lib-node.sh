# Shared by the Node.js targets' start.sh scripts (sourced, not run):
#   ssobench_ensure_node MIN_VERSION WHAT  - node and npm present and new enough
#   ssobench_ensure_npm_deps DIR           - npm ci in DIR when needed
# Messages go to stderr; stdout stays free for the started program.

ssobench_log() {
    printf '%s\n' "$*" >&2
}

# Installs Debian's nodejs/npm packages for whichever of node/npm is missing,
# as root or through sudo.
ssobench_apt_install() {
    local -a as_root=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            ssobench_log "error: $* not found, and installing it needs root: run as root or install sudo (or install Node.js yourself)"
            return 1
        fi
        if sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        elif [[ -t 0 ]]; then
            as_root=(sudo)
        else
            ssobench_log "error: $* not found, and sudo needs a password but there is no terminal to ask for it: install Node.js first"
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        ssobench_log "error: $* not found and apt-get is not available: install Node.js and npm first"
        return 1
    fi
    ssobench_log "installing Debian packages: $*"
    "${as_root[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "$@" >&2
}

# True when dotted version $1 >= $2.
ssobench_version_ge() {
    local -a have want
    IFS=. read -r -a have <<<"$1"
    IFS=. read -r -a want <<<"$2"
    local i
    for i in 0 1 2; do
        local h=${have[i]:-0} w=${want[i]:-0}
        if ((10#$h > 10#$w)); then return 0; fi
        if ((10#$h < 10#$w)); then return 1; fi
    done
    return 0
}

ssobench_ensure_node() {
    local min=$1 what=$2
    local -a missing=()
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if ((${#missing[@]})); then
        ssobench_apt_install "${missing[@]}" || return 1
    fi
    local found
    found=$(node -p 'process.versions.node') || {
        ssobench_log "error: $(command -v node) does not run"
        return 1
    }
    if ! ssobench_version_ge "$found" "$min"; then
        ssobench_log "error: $what needs Node.js >= $min, found $found ($(command -v node))."
        ssobench_log "Debian 12's own nodejs package (18.x) is too old; the Node.js found on PATH is used,"
        ssobench_log "so install Node.js >= $min (a current LTS release) and put it first on PATH."
        return 1
    fi
}

# npm ci when node_modules is missing or older than package-lock.json. A lock
# keeps concurrent starts from installing over each other.
ssobench_ensure_npm_deps() {
    local dir=$1
    (
        cd "$dir"
        exec 9>"$dir/.npm-install.lock"
        flock 9
        if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
            ssobench_log "installing npm packages in $dir (npm ci)"
            npm ci --no-audit --no-fund --loglevel=error >&2
            touch node_modules
        fi
    )
}
