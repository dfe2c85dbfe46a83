#!/usr/bin/env bash
# Checks the manifests `loadtest kube` writes against the Kubernetes API's schemas (strict: an
# unknown field is an error), with the `kubernetes-validate` package from PyPI, pinned, in a
# virtualenv of its own under target/ (or $CARGO_TARGET_DIR). Then checks that the validator can fail: a manifest with
# a field of the wrong type must be refused. Needs the release build of `loadtest`.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.37.0          # kubernetes-validate (its schemas: Kubernetes up to 1.37)
KUBERNETES=1.30.0       # an older API the manifests are checked against too (Indexed Jobs: 1.24 on)
# Where cargo builds: target/, or $CARGO_TARGET_DIR when it is set.
target=${CARGO_TARGET_DIR:-target}
venv=$target/kubernetes-validate-$VERSION
if [[ ! -x $venv/bin/kubernetes-validate ]]; then
    if ! python3 -m venv --help > /dev/null 2>&1; then
        # Debian keeps venv in a package of its own.
        if command -v apt-get > /dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
            echo "Installing python3-venv (Debian package) ..." >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv > /dev/null
        else
            echo "checking the manifests needs Python 3 with venv: apt-get install python3-venv" >&2
            exit 1
        fi
    fi
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "kubernetes-validate==$VERSION"
fi
validate() { "$venv/bin/kubernetes-validate" --strict --quiet -k "$1" "${@:2}"; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Addresses only: nothing is sent anywhere, the manifests are only written.
"$target/release/loadtest" kube --out "$out/plain" --image registry.example/ssobench:test \
    --target http://sut.example:8080 --target-idp http://idp.example:8080 \
    --target-forums http://forums.example:8080 --workers 3 --users 300 --run-time 5m
"$target/release/loadtest" kube --out "$out/full" --image registry.example/ssobench:test \
    --namespace load --target https://sut.example --target-idp https://idp.example \
    --target-forums https://forums.example --workers 8 --users 8000 --rate 400 \
    --cpu-request 2 --cpu-limit 2 --memory-request 2Gi --memory-limit 4Gi --spread --port 9000
for k in "$KUBERNETES" "$VERSION"; do
    validate "$k" "$out"/plain/*.yaml "$out"/full/*.yaml
    echo "manifests valid against Kubernetes $k (strict)"
done

# The validator must be able to say no: the same Job with a count where a number belongs.
sed 's/backoffLimit: 0/backoffLimit: none/' "$out/full/30-workers.yaml" > "$out/broken.yaml"
if validate "$VERSION" "$out/broken.yaml" > /dev/null 2>&1; then
    echo "the validator accepted a broken manifest: it checks nothing" >&2
    exit 1
fi
echo "a broken manifest is refused"
