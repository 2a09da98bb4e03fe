#!/bin/bash
# LocalStack BOOT hook for the *official* image (localstack/localstack:4.14.0), which
# `xtask/src/localstack.rs` mounts at /etc/localstack/init/boot.d together with this
# folder at /opt/photopipe-localstack. It installs the photopipe plugins into
# LocalStack's venv before LocalStack starts, so that PROVIDER_OVERRIDE_REKOGNITION=
# photopipe-moto makes Rekognition routable there too. (Lambda and DynamoDB keep
# LocalStack's own Docker executor and DynamoDB Local on that image.)
#
# Not needed, and not run, in the offline image: it has the plugins built in.
set -euo pipefail

src=${PHOTOPIPE_LOCALSTACK_SRC:-/opt/photopipe-localstack}
python=/opt/code/localstack/.venv/bin/python
[ -x "$python" ] || python=$(command -v python3)

# Build from a copy: pip writes build/ and *.egg-info next to the sources, and the
# sources are the developer's checkout, mounted read-write.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/pyproject.toml" "$src/photopipe_localstack" "$work/"

# Without build isolation when the venv has setuptools (no download); otherwise pip
# fetches setuptools, which works where this image is used (CI with network).
if "$python" -c 'import setuptools' 2>/dev/null; then
    "$python" -m pip install --quiet --no-deps --no-build-isolation "$work"
else
    "$python" -m pip install --quiet --no-deps "$work"
fi
echo "photopipe-localstack: plugins installed into $("$python" -c 'import sys; print(sys.prefix)')"
