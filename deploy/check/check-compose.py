#!/usr/bin/env python3
"""Cross-checks compose.yaml against what the build makes: every image is one scripts/images.sh
builds (or the demo broker's), every Containerfile named exists, every entrypoint is a binary the
image installs, published ports are the ones the products listen on, and every service that
depends on another names one that exists. Prints one line per problem; exit 1 when any.
  check-compose.py compose.yaml"""
import os
import sys

import yaml

IMAGES = {
    "trading-engine": {"trading-engine"},
    "pharma-mes": {"pharma-mes"},
    "tools": {"guardctl", "guardrail-sim", "mes-sensor-sim", "fix_load"},
    "mosquitto": {"mosquitto"},
}
PORTS = {"trading-engine": {9878, 8080}, "pharma-mes": {8090}, "mosquitto": {1883}}
path = sys.argv[1]
root = os.path.dirname(os.path.abspath(path))
with open(path) as f:
    compose = yaml.safe_load(f)
problems = []
services = compose.get("services") or {}
if not services:
    problems.append("no services")
for name, svc in services.items():
    image = str(svc.get("image", ""))
    base = image.split("/")[-1].split(":")[0]
    if base not in IMAGES:
        problems.append("%s: image %s is not one the build produces" % (name, image))
        continue
    build = svc.get("build")
    if build:
        dockerfile = os.path.join(root, build.get("context", "."), build.get("dockerfile", "Dockerfile"))
        if not os.path.exists(dockerfile):
            problems.append("%s: %s does not exist" % (name, os.path.relpath(dockerfile, root)))
    entry = svc.get("entrypoint")
    if isinstance(entry, list) and entry and entry[0].startswith("/usr/local/bin/"):
        if os.path.basename(entry[0]) not in IMAGES[base]:
            problems.append("%s: %s is not installed in the %s image" % (name, entry[0], base))
    for p in svc.get("ports") or []:
        container_port = int(str(p).split(":")[-1].split("/")[0])
        if container_port not in PORTS.get(base, set()):
            problems.append("%s: publishes %d, which %s does not listen on" % (name, container_port, base))
    deps = svc.get("depends_on") or []
    for dep in deps if isinstance(deps, list) else deps.keys():
        if dep not in services:
            problems.append("%s: depends on %s, which is not a service" % (name, dep))
    if svc.get("read_only") is not True:
        problems.append("%s: read_only must be true (the images run on a read-only root)" % name)
for line in problems:
    print(line)
sys.exit(1 if problems else 0)
