// Turns the pod template of one workload of a rendered overlay into a `podman run` of the same
// container: image, args, env, ports, user, read-only root, dropped capabilities, ConfigMaps
// and Secrets as read-only files at their mount paths, emptyDirs and claims as fresh podman
// volumes. Prints a JSON object the shell runs:
//   {"run": [podman run arguments...], "probes": [{"kind","path","port"}],
//    "volumes": [named volumes to remove before and after], "grace": seconds, "image": "..."}
//   node pod-to-podman.cjs <rendered.yaml> <kind>/<name> <work dir> <image> [NAME=value ...]
// The image given replaces the manifest's (the locally built one); NAME=value pairs are the
// values of the Secret keys the pod reads (secret/key=value), since no Secret is in the render.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const [file, workload, workDir, image, ...secretArgs] = process.argv.slice(2);
const [kind, name] = workload.split("/");
const objects = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJSON()).filter(Boolean);
const owner = objects.find((o) => o.kind === kind && o.metadata?.name === name);
if (!owner) {
  console.error(`pod-to-podman: ${workload} is not in ${file}`);
  process.exit(2);
}
let template = owner.spec.template;
if (!template && owner.spec.workloadRef) {
  const ref = owner.spec.workloadRef;
  template = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name)?.spec?.template;
}
const spec = template.spec;
const container = spec.containers[0];
const secrets = Object.fromEntries(secretArgs.map((a) => a.split(/=(.*)/s).slice(0, 2)));
const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((c) => [c.metadata.name, c]));

// Its own network namespace (podman's bridge), the ports published on loopback at free ports.
const run = ["-d", "--network", "bridge", "--read-only", "--security-opt", "no-new-privileges"];
const sc = { ...(spec.securityContext || {}), ...(container.securityContext || {}) };
if (sc.runAsUser !== undefined) run.push("--user", `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
if (spec.securityContext?.fsGroup !== undefined) run.push("--group-add", String(spec.securityContext.fsGroup));
for (const cap of sc.capabilities?.drop || []) run.push("--cap-drop", cap);
for (const e of container.env || []) {
  if (e.value !== undefined) run.push("--env", `${e.name}=${e.value}`);
  else if (e.valueFrom?.secretKeyRef) {
    const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
    if (!(ref in secrets)) {
      console.error(`pod-to-podman: give a value for Secret key ${ref}`);
      process.exit(2);
    }
    run.push("--env", `${e.name}=${secrets[ref]}`);
  }
}
const volumes = new Map((spec.volumes || []).map((v) => [v.name, v]));
const slug = workload.toLowerCase().replace(/[^a-z0-9]+/g, "-");
const namedVolumes = [];
fs.mkdirSync(workDir, { recursive: true });
for (const m of container.volumeMounts || []) {
  const v = volumes.get(m.name);
  if (v.emptyDir) {
    // A fresh named volume (podman 4.3 ignores a tmpfs mode where the image declares a VOLUME,
    // leaving it unwritable): empty at start, the image's ownership copied up, removed after.
    const volume = `gv-check-${slug}-${m.name}`;
    namedVolumes.push(volume);
    run.push("-v", `${volume}:${m.mountPath}`);
  } else if (v.configMap) {
    const dir = path.join(workDir, `configmap-${m.name}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const [k, text] of Object.entries(configMaps.get(v.configMap.name).data || {})) {
      fs.writeFileSync(path.join(dir, k), text, { mode: 0o644 });
    }
    run.push("-v", `${dir}:${m.mountPath}:ro`);
  } else if (v.secret) {
    const dir = path.join(workDir, `secret-${m.name}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const [ref, value] of Object.entries(secrets)) {
      const [secretName, key] = ref.split("/");
      if (secretName !== v.secret.secretName) continue;
      // As the kubelet: owned by root, the pod's fsGroup as group, defaultMode.
      const f = path.join(dir, key);
      fs.writeFileSync(f, value);
      fs.chmodSync(f, v.secret.defaultMode ?? 0o644);
      if (spec.securityContext?.fsGroup !== undefined) fs.chownSync(f, 0, spec.securityContext.fsGroup);
    }
    run.push("-v", `${dir}:${m.mountPath}:ro`);
  } else if (v.persistentVolumeClaim) {
    const volume = `gv-check-${slug}-${v.persistentVolumeClaim.claimName}`;
    namedVolumes.push(volume);
    run.push("-v", `${volume}:${m.mountPath}`);
  } else {
    console.error(`pod-to-podman: volume ${m.name} of a kind this runner does not know`);
    process.exit(2);
  }
}
const ports = container.ports || [];
for (const p of ports) run.push("-p", `127.0.0.1::${p.containerPort}`);
run.push(image, ...(container.command || []), ...(container.args || []));
const portNumber = (p) => (typeof p === "number" ? p : ports.find((x) => x.name === p)?.containerPort);
const probes = ["startupProbe", "livenessProbe", "readinessProbe"]
  .filter((k) => container[k]?.httpGet)
  .map((k) => ({ kind: k, path: container[k].httpGet.path, port: portNumber(container[k].httpGet.port) }));
console.log(JSON.stringify({ run, probes, volumes: namedVolumes, grace: spec.terminationGracePeriodSeconds ?? 30, image }));
