#!/usr/bin/env python3
"""Writes each .toml key of each ConfigMap in a render to <out dir>/<configmap>/<key> and prints
"<product>\t<path>" per file, the product being the app label of the pods that mount it. The
flags (--key=value) of the first container of those pods go beside it, one per line, in
<path>.args (--config left out): the binary checks them with the file.
  configmap-files.py <render> <out dir>"""
import os
import sys

import yaml

render, out_dir = sys.argv[1], sys.argv[2]
with open(render) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
mounted_by = {}
flags_of = {}
for d in docs:
    template = (d.get("spec") or {}).get("template") or {}
    product = ((template.get("metadata") or {}).get("labels") or {}).get("app")
    containers = (template.get("spec") or {}).get("containers") or []
    args = [str(a) for a in (containers[0].get("args") or [])] if containers else []
    for v in (template.get("spec") or {}).get("volumes") or []:
        if "configMap" in v and product:
            mounted_by[v["configMap"]["name"]] = product
            flags_of[v["configMap"]["name"]] = [
                a for a in args if a.startswith("--") and not a.startswith("--config")]
for d in docs:
    if d.get("kind") != "ConfigMap":
        continue
    name = d["metadata"]["name"]
    for key, text in (d.get("data") or {}).items():
        if not key.endswith(".toml"):
            continue
        path = os.path.join(out_dir, os.path.basename(render), name, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        with open(path + ".args", "w") as f:
            f.write("".join(a + "\n" for a in flags_of.get(name, [])))
        print("%s\t%s" % (mounted_by.get(name, "unmounted"), path))
