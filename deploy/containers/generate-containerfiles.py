#!/usr/bin/env python3
# Writes the three Containerfiles from deploy/containers/Containerfile.in, so that they differ
# only in what they must: the component, its runtime libraries, targets, entry point and ports.
#   deploy/containers/generate-containerfiles.py          (writes them)
#   deploy/containers/generate-containerfiles.py --check  (exit 1 when one is out of date)
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
TEMPLATE = os.path.join(ROOT, 'deploy', 'containers', 'Containerfile.in')
outputs = {}


def containerfile(product, title, desc, component, runtime_pkgs, targets, entry, cmd, ports, volume=True):
    pkgs = " \\\n      ".join(runtime_pkgs)
    expose = ("EXPOSE " + " ".join(ports) + "\n") if ports else ""
    cmd_line = ("CMD " + cmd + "\n") if cmd else ""
    vol = 'VOLUME ["/var/lib/guarded-venue"]\n' if volume else ""
    tg = " ".join(targets)
    t = open(TEMPLATE).read()
    for k, v in dict(PRODUCT=product, TITLE=title, DESC=desc, COMPONENT=component, PKGS=pkgs,
                     TARGETS=tg, ENTRY=entry, CMDLINE=cmd_line, EXPOSE=expose, VOLUME=vol).items():
        t = t.replace('@' + k + '@', v)
    while '\n\n\n' in t:
        t = t.replace('\n\n\n', '\n\n')
    return t.rstrip('\n') + '\n'
outputs['trading-engine/Containerfile'] = (containerfile(
  'trading-engine','trading-engine image','the FIX 4.4 trading venue (matching, pre-trade risk, journal, guardrail)',
  'trading-engine',['libfmt9','libprometheus-cpp-core1.0','libquickfix17','libsodium23','libssl3','libtomlplusplus3'],
  ['trading-engine'],'["/usr/local/bin/trading-engine"]',
  '["--config", "/usr/local/share/guarded-venue/trading-engine/trading-engine.toml"]',['9878/tcp','8080/tcp']))
outputs['pharma-mes/Containerfile'] = (containerfile(
  'pharma-mes','pharma-mes image','the pharmaceutical manufacturing execution system (21 CFR Part 11), UI and API',
  'pharma-mes',['libfmt9','libhpdf-2.3.0','libpaho-mqtt1.3','libpaho-mqttpp3-1','libpq5','libpqxx-6.4','libprometheus-cpp-core1.0','libsodium23','libsqlite3-0','libssl3','libtomlplusplus3'],
  ['pharma-mes'],'["/usr/local/bin/pharma-mes"]',
  '["serve", "--config", "/usr/local/share/guarded-venue/pharma-mes/pharma-mes.toml"]',['8090/tcp']))
outputs['guardrails/Containerfile'] = (containerfile(
  'guardrails','tools image','guardctl (deployment risk, evidence), guardrail-sim, the MES sensor simulator and the fix_load FIX client',
  'tools',['libfmt9','libpaho-mqtt1.3','libpaho-mqttpp3-1','libprometheus-cpp-core1.0','libquickfix17','libsodium23','libssl3','libtomlplusplus3'],
  ['guardctl','guardrail-sim','mes-sensor-sim','fix_load'],'["/usr/local/bin/guardctl"]','["--help"]',[], volume=False))

stale = []
for path, text in outputs.items():
    full = os.path.join(ROOT, path)
    current = open(full).read() if os.path.exists(full) else ''
    if current != text:
        stale.append(path)
        if '--check' not in sys.argv:
            with open(full, 'w') as f:
                f.write(text)
if '--check' in sys.argv and stale:
    print('out of date (run deploy/containers/generate-containerfiles.py): ' + ', '.join(stale))
    sys.exit(1)
