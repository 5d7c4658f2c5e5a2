#!/usr/bin/env bash
# Checks the deploy kit's manifests against their schemas (.ci/run runs it):
# - the Kubernetes manifests with kubernetes-validate (the API's own
#   OpenAPI schemas, bundled in the package; --strict refuses unknown
#   fields), for the Kubernetes version below;
# - compose.yaml against the Compose specification's JSON schema (shipped
#   in the docker-compose 1.29.2 wheel, which is only unpacked, never run).
# The tools come from PyPI into a virtual environment of their own.
# (The systemd unit, redis.conf and the settings are checked by running
# them: tests/deploy_kit.rs.)
set -euo pipefail
cd "$(dirname "$0")"
K8S_VERSION=1.30.0
venv=${DEPLOY_CHECK_VENV:-${TMPDIR:-/tmp}/sampark-deploy-check}
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -f "$venv/compose_spec.json" ]; then
  echo "installing kubernetes-validate and jsonschema into $venv (PyPI)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q kubernetes-validate==1.37.0 jsonschema==4.26.0 PyYAML==6.0.4
  "$venv/bin/pip" download -q --no-deps --dest "$venv/wheels" docker-compose==1.29.2
  "$venv/bin/python" - "$venv" <<'PY'
import sys, zipfile, glob
venv = sys.argv[1]
wheel = glob.glob(f"{venv}/wheels/docker_compose-1.29.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(f"{venv}/compose_spec.json", "wb") as out:
    out.write(z.read("compose/config/compose_spec.json"))
PY
fi

echo "== Kubernetes manifests (kubernetes-validate --strict, Kubernetes $K8S_VERSION)"
manifests=()
for f in k8s/*.yaml; do
  # kustomization.yaml is kustomize's, not an API object.
  [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
"$venv/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "${manifests[@]}"

echo "== compose.yaml (Compose specification schema)"
"$venv/bin/python" - "$venv/compose_spec.json" compose.yaml <<'PY'
import json, sys
import jsonschema, yaml
schema = json.load(open(sys.argv[1]))
document = yaml.safe_load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(document), key=str)
for e in errors:
    print(f"{sys.argv[2]}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}")
services = sorted(document.get("services", {}))
if errors:
    sys.exit(1)
print(f"{sys.argv[2]} is valid: services {', '.join(services)}")
PY
