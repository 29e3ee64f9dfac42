#!/usr/bin/env python3
"""Exit 0 when two renders of one kustomization hold the same objects: compared by kind and name,
order ignored, generated-name hashes and empty label/annotation maps (old kustomize writes them)
ignored. Prints the first differences otherwise.
  same-objects.py <render A> <render B>"""
import re
import sys

import yaml

HASHED = re.compile(r"-[a-z0-9]{10}$")


def normalise(value):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("labels", "annotations") and v == {}:
                continue
            out[k] = normalise(v)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return HASHED.sub("-<hash>", value)
    return value


def objects(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return {(d.get("kind"), HASHED.sub("-<hash>", d["metadata"]["name"])): normalise(d) for d in docs}


a, b = objects(sys.argv[1]), objects(sys.argv[2])
problems = []
for key in sorted(set(a) | set(b), key=str):
    if key not in a or key not in b:
        problems.append("%s/%s only in %s" % (key[0], key[1], "the first" if key in a else "the second"))
    elif a[key] != b[key]:
        problems.append("%s/%s differs" % key)
print("; ".join(problems[:5]))
sys.exit(1 if problems else 0)
