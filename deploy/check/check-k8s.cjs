// Validates rendered Kubernetes manifests (the output of `kubectl kustomize` for each overlay)
// against the Kubernetes, Argo Rollouts and Prometheus Operator schemas (npm kubernetes-models and
// friends), strictly: a field the schema does not know is an error, which the models alone do not
// report. Objects with no model at hand (Flagger Canary, TargetGroupBinding) are checked against
// the hand-written subsets in crds/. Then the cross-checks no schema catches.
//   node check-k8s.cjs <rendered.yaml>...        (exit 1 and one line per problem when any)
// Each problem line: "<file>: <Kind>/<name>: <what>".
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

// --- collect every JSON schema the models register -------------------------------------------
const schemas = new Map();
// Each model package may bring its own copy of the validator: patch the one each resolves to.
const validateModules = new Set();
for (const pkg of ["kubernetes-models", "@kubernetes-models/argo-rollouts", "@kubernetes-models/prometheus-operator"]) {
  try {
    validateModules.add(require.resolve("@kubernetes-models/validate", { paths: [path.dirname(require.resolve(pkg))] }));
  } catch {
    // not installed: its kinds report "no schema"
  }
}
for (const m of validateModules) {
  const v = require(m);
  const original = v.register;
  v.register = (id, schema) => {
    schemas.set(id.replace(/#$/, ""), schema);
    return original(id, schema);
  };
}
for (const f of fs.readdirSync(path.join(__dirname, "crds"))) {
  const s = JSON.parse(fs.readFileSync(path.join(__dirname, "crds", f), "utf8"));
  schemas.set(s.$id, s);
}

function modelModule(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "argoproj.io") return `@kubernetes-models/argo-rollouts/argoproj.io/${version}`;
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`;
  }
  return group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
}

// The schema registered for apiVersion + kind (after the model module registered its schemas).
function schemaFor(apiVersion, kind) {
  for (const [id, s] of schemas) {
    const p = s.properties || {};
    if (p.kind?.enum?.[0] === kind && p.apiVersion?.enum?.[0] === apiVersion) return [id, s];
  }
  return [null, null];
}

function resolve(schema) {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 20; ++i) s = schemas.get(s.$ref.replace(/#$/, ""));
  return s;
}

// Reports fields the schema does not declare, anywhere in `value`.
function unknownFields(value, schema, where, out) {
  schema = resolve(schema);
  if (!schema || value === null || value === undefined) return;
  for (const key of ["oneOf", "anyOf"]) {
    if (Array.isArray(schema[key])) {
      const branches = schema[key].map(resolve).filter((b) => b && b.type !== "null");
      const objectBranch = branches.find((b) => b.properties || b.additionalProperties);
      const chosen =
        typeof value === "object" && !Array.isArray(value) && objectBranch
          ? objectBranch
          : Array.isArray(value)
            ? branches.find((b) => b.items)
            : null;
      if (chosen) unknownFields(value, chosen, where, out);
      return;
    }
  }
  if (Array.isArray(schema.allOf)) {
    for (const b of schema.allOf) unknownFields(value, b, where, out);
  }
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => unknownFields(v, schema.items, `${where}[${i}]`, out));
    return;
  }
  if (typeof value !== "object") return;
  if (schema["x-kubernetes-preserve-unknown-fields"]) return;
  const props = schema.properties;
  for (const [k, v] of Object.entries(value)) {
    if (props && Object.prototype.hasOwnProperty.call(props, k)) {
      unknownFields(v, props[k], `${where}.${k}`, out);
    } else if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
      unknownFields(v, schema.additionalProperties, `${where}.${k}`, out);
    } else if (props) {
      out.push(`unknown field ${where.replace(/^\./, "")}.${k}`.replace(/^unknown field \./, "unknown field "));
    }
  }
}

function schemaProblems(obj) {
  const problems = [];
  const { apiVersion, kind } = obj;
  if (!apiVersion || !kind) return ["no apiVersion or kind"];
  let model = null;
  try {
    model = require(modelModule(apiVersion))[kind] || null;
  } catch {
    model = null;
  }
  if (model) {
    try {
      new model(obj).validate();
    } catch (e) {
      problems.push(`schema: ${String(e.message).split("\n").slice(0, 3).join("; ")}`);
    }
  }
  const [, schema] = schemaFor(apiVersion, kind);
  if (!schema) {
    // A model whose validator is precompiled (the Prometheus Operator's) checks types and
    // required fields but exposes no schema to look for unknown fields in.
    if (!model) problems.push(`no schema for ${apiVersion} ${kind}: not a kind this project deploys`);
    return problems;
  }
  if (!model) {
    // Hand-written schema: required fields and types, the subset check() knows.
    problems.push(...requiredProblems(obj, schema, ""));
  }
  const unknown = [];
  unknownFields(obj, schema, "", unknown);
  problems.push(...unknown);
  return problems;
}

function requiredProblems(value, schema, where) {
  schema = resolve(schema);
  const out = [];
  if (!schema || value === null || typeof value !== "object") return out;
  for (const r of schema.required || []) {
    if (!(r in value)) out.push(`missing required field ${(where + "." + r).replace(/^\./, "")}`);
  }
  for (const [k, v] of Object.entries(value)) {
    const p = schema.properties?.[k];
    if (!p) continue;
    const rp = resolve(p);
    if (rp?.type === "string" && typeof v !== "string") out.push(`${where}.${k} must be a string`);
    if (rp?.type === "integer" && !Number.isInteger(v)) out.push(`${where}.${k} must be an integer`);
    if (rp?.enum && !rp.enum.includes(v)) out.push(`${where}.${k} must be one of ${rp.enum.join(", ")}`);
    if (Array.isArray(v) && rp?.items) {
      v.forEach((e, i) => out.push(...requiredProblems(e, rp.items, `${where}.${k}[${i}]`)));
    } else {
      out.push(...requiredProblems(v, p, `${where}.${k}`));
    }
  }
  return out;
}

// --- cross-checks ------------------------------------------------------------------------------
const GUARDRAIL_STATUS = "/guardrail/v1/status";
const PROBE_PATHS = new Set(["/livez", "/readyz", "/health"]);
const IMAGES = new Set(["trading-engine", "pharma-mes", "tools", "mosquitto"]);

function podTemplates(objects) {
  const out = [];
  for (const o of objects) {
    if (["Deployment", "Rollout", "StatefulSet"].includes(o.kind) && o.spec?.template?.spec) {
      out.push({ owner: o, template: o.spec.template });
    }
  }
  return out;
}

function matches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => (labels || {})[k] === v);
}

function durationSeconds(text) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(String(text || ""));
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

// The TOML settings of a ConfigMap file: "section.key" -> value (numbers and strings).
function tomlSettings(text) {
  const out = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      section = sec[1];
      continue;
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.+)$/.exec(line);
    if (kv) {
      out[`${section}.${kv[1]}`] = kv[2].replace(/^"(.*)"$/, "$1");
    }
  }
  return out;
}

function crossChecks(objects) {
  const problems = [];
  const say = (o, what) => problems.push([o, what]);
  const templates = podTemplates(objects);
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const configMaps = new Map(byKind("ConfigMap").map((c) => [c.metadata.name, c]));

  for (const svc of byKind("Service")) {
    const sel = svc.spec?.selector;
    if (!sel || !templates.some((t) => matches(sel, t.template.metadata?.labels))) {
      say(svc, `selector ${JSON.stringify(sel)} matches no pod template`);
      continue;
    }
    for (const port of svc.spec.ports || []) {
      const ok = templates.some(
        (t) =>
          matches(sel, t.template.metadata?.labels) &&
          t.template.spec.containers.some((c) =>
            (c.ports || []).some((p) =>
              typeof port.targetPort === "string"
                ? p.name === port.targetPort
                : p.containerPort === (port.targetPort ?? port.port),
            ),
          ),
      );
      if (!ok) say(svc, `port ${port.name || port.port} targets no container port of its pods`);
    }
  }

  for (const { owner, template } of templates) {
    const spec = template.spec;
    const psc = spec.securityContext || {};
    if (psc.runAsNonRoot !== true) say(owner, "pod securityContext.runAsNonRoot must be true");
    if (psc.seccompProfile?.type !== "RuntimeDefault") {
      say(owner, "pod securityContext.seccompProfile.type must be RuntimeDefault");
    }
    for (const c of spec.containers || []) {
      const sc = c.securityContext || {};
      if (sc.readOnlyRootFilesystem !== true) say(owner, `${c.name}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false) say(owner, `${c.name}: allowPrivilegeEscalation must be false`);
      if (!(sc.capabilities?.drop || []).includes("ALL")) say(owner, `${c.name}: capabilities must drop ALL`);
      const image = String(c.image || "");
      const name = image.replace(/[:@].*$/, "").split("/").pop();
      if (!IMAGES.has(name)) say(owner, `${c.name}: image ${image} is not one the build produces`);
      if (!c.resources?.requests || !c.resources?.limits) say(owner, `${c.name}: resources need requests and limits`);
      if (name === "trading-engine") {
        const { requests, limits } = c.resources || {};
        if (JSON.stringify(requests) !== JSON.stringify(limits)) {
          say(owner, `${c.name}: the venue runs in Guaranteed QoS: requests must equal limits`);
        }
      }
      // The container's ports against the settings of the configuration it is given.
      const configArg = (c.args || []).find((a) => a.startsWith("--config="));
      let settings = {};
      if (configArg) {
        const file = configArg.slice("--config=".length);
        const mount = (c.volumeMounts || []).find((m) => file.startsWith(m.mountPath + "/"));
        const volume = mount && (spec.volumes || []).find((v) => v.name === mount.name);
        const cm = volume?.configMap && configMaps.get(volume.configMap.name);
        const key = mount && file.slice(mount.mountPath.length + 1);
        if (!cm || !cm.data || !(key in cm.data)) {
          say(owner, `${c.name}: --config ${file} is not a key of a ConfigMap mounted there`);
        } else {
          settings = tomlSettings(cm.data[key]);
        }
      }
      const portOf = (n) => (c.ports || []).find((p) => p.name === n || p.containerPort === n);
      for (const [setting, portName] of [
        ["http.port", "http"],
        ["fix.port", "fix"],
      ]) {
        const p = portOf(portName);
        if (p && settings[setting] && Number(settings[setting]) !== p.containerPort) {
          say(owner, `${c.name}: port ${portName} is ${p.containerPort} but ${setting} is ${settings[setting]}`);
        }
      }
      for (const probeName of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const probe = c[probeName];
        if (!probe) {
          say(owner, `${c.name}: no ${probeName}`);
          continue;
        }
        const get = probe.httpGet;
        if (!get) continue;
        if (!PROBE_PATHS.has(get.path)) say(owner, `${c.name}: ${probeName} path ${get.path} is not served by the binary`);
        if (!portOf(get.port)) say(owner, `${c.name}: ${probeName} port ${get.port} is not a container port`);
        else if (portOf(get.port).name !== "http" && portOf(get.port).containerPort !== Number(settings["http.port"])) {
          say(owner, `${c.name}: ${probeName} port ${get.port} is not the HTTP port`);
        }
      }
      if (c.livenessProbe?.httpGet && c.livenessProbe.httpGet.path !== "/livez") {
        say(owner, `${c.name}: livenessProbe must ask /livez (readiness is /readyz)`);
      }
      if (c.readinessProbe?.httpGet && c.readinessProbe.httpGet.path !== "/readyz") {
        say(owner, `${c.name}: readinessProbe must ask /readyz`);
      }
      const preStop = c.lifecycle?.preStop?.exec?.command || [];
      const pause = preStop[0] === "/bin/sleep" ? Number(preStop[1]) : 0;
      const grace = Number(settings["shutdown.grace_ms"] || 5000) / 1000;
      const period = spec.terminationGracePeriodSeconds ?? 30;
      if (period < pause + grace + 5) {
        say(owner, `terminationGracePeriodSeconds ${period} is shorter than preStop ${pause} s + drain ${grace} s + 5 s`);
      }
      for (const m of c.volumeMounts || []) {
        if (!(spec.volumes || []).some((v) => v.name === m.name)) say(owner, `${c.name}: mounts undeclared volume ${m.name}`);
        // A mount inside a read-only one (a ConfigMap's) cannot get its mount point created.
        for (const outer of c.volumeMounts || []) {
          if (outer !== m && outer.readOnly && m.mountPath.startsWith(outer.mountPath + "/")) {
            say(owner, `${c.name}: mount ${m.mountPath} is inside the read-only mount ${outer.mountPath}`);
          }
        }
      }
    }
    for (const v of spec.volumes || []) {
      if (v.configMap && !configMaps.has(v.configMap.name)) say(owner, `volume ${v.name}: ConfigMap ${v.configMap.name} is not in the render`);
      if (v.persistentVolumeClaim && !byKind("PersistentVolumeClaim").some((p) => p.metadata.name === v.persistentVolumeClaim.claimName)) {
        say(owner, `volume ${v.name}: PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} is not in the render`);
      }
    }
  }

  const analyses = new Map(byKind("AnalysisTemplate").map((a) => [a.metadata.name, a]));
  for (const a of analyses.values()) {
    for (const m of a.spec?.metrics || []) {
      const web = m.provider?.web;
      if (!web) {
        say(a, `metric ${m.name}: not the guardrail's web provider`);
        continue;
      }
      let url;
      try {
        url = new URL(String(web.url).replace(/\{\{[^}]+\}\}/g, "x"));
      } catch {
        say(a, `metric ${m.name}: url ${web.url} is not a URL`);
        continue;
      }
      if (url.pathname !== GUARDRAIL_STATUS) say(a, `metric ${m.name}: url path ${url.pathname} is not ${GUARDRAIL_STATUS}`);
      if (web.jsonPath !== "{$.data.verdict}") say(a, `metric ${m.name}: jsonPath must be {$.data.verdict}`);
      if (!/result == "promote"/.test(m.successCondition || "")) say(a, `metric ${m.name}: successCondition must be result == "promote"`);
      if (!/result == "rollback"/.test(m.failureCondition || "")) say(a, `metric ${m.name}: failureCondition must be result == "rollback"`);
      if (m.inconclusiveLimit === undefined) say(a, `metric ${m.name}: "hold" needs an inconclusiveLimit`);
      if (m.consecutiveErrorLimit === undefined) say(a, `metric ${m.name}: needs a consecutiveErrorLimit`);
      const services = byKind("Service").filter((s) => (s.spec?.ports || []).some((p) => p.port === Number(url.port)));
      if (!services.length) say(a, `metric ${m.name}: port ${url.port} is no Service port of this render`);
    }
  }

  for (const r of byKind("Rollout")) {
    const bg = r.spec?.strategy?.blueGreen;
    if (!bg) {
      say(r, "strategy must be blueGreen");
      continue;
    }
    for (const s of [bg.activeService, bg.previewService]) {
      if (!byKind("Service").some((x) => x.metadata.name === s)) say(r, `Service ${s} is not in the render`);
    }
    let post = 0;
    for (const phase of ["prePromotionAnalysis", "postPromotionAnalysis"]) {
      for (const t of bg[phase]?.templates || []) {
        const a = analyses.get(t.templateName);
        if (!a) {
          say(r, `${phase}: AnalysisTemplate ${t.templateName} is not in the render`);
          continue;
        }
        const declared = new Set((a.spec.args || []).map((x) => x.name));
        for (const arg of bg[phase].args || []) {
          if (!declared.has(arg.name)) say(r, `${phase}: argument ${arg.name} is not declared by ${t.templateName}`);
        }
        if (phase === "postPromotionAnalysis") {
          for (const m of a.spec.metrics || []) post = Math.max(post, durationSeconds(m.interval) * (m.count || 1));
        }
      }
    }
    if (!bg.prePromotionAnalysis) say(r, "no prePromotionAnalysis: green must reach promote first");
    if (!bg.postPromotionAnalysis) say(r, "no postPromotionAnalysis");
    if (!(bg.scaleDownDelaySeconds > post)) {
      say(r, `scaleDownDelaySeconds ${bg.scaleDownDelaySeconds} must be longer than the post-promotion analysis (${post} s)`);
    }
    if (r.spec.workloadRef && !objects.some((o) => o.kind === r.spec.workloadRef.kind && o.metadata.name === r.spec.workloadRef.name)) {
      say(r, `workloadRef ${r.spec.workloadRef.kind}/${r.spec.workloadRef.name} is not in the render`);
    }
  }

  for (const c of byKind("Canary")) {
    const target = c.spec?.targetRef;
    if (!objects.some((o) => o.kind === target?.kind && o.metadata.name === target?.name)) {
      say(c, `targetRef ${target?.kind}/${target?.name} is not in the render`);
    }
    for (const w of c.spec?.analysis?.webhooks || []) {
      const want = w.type === "rollback" ? "/guardrail/v1/flagger/rollback" : "/guardrail/v1/flagger";
      let p = "";
      try {
        p = new URL(w.url).pathname;
      } catch {
        p = "";
      }
      if (p !== want) say(c, `webhook ${w.name}: path ${p || w.url} is not ${want}`);
    }
  }

  for (const pdb of byKind("PodDisruptionBudget")) {
    if (!templates.some((t) => matches(pdb.spec?.selector?.matchLabels, t.template.metadata?.labels))) {
      say(pdb, "selector matches no pod template");
    }
  }
  for (const np of byKind("NetworkPolicy")) {
    if (!templates.some((t) => matches(np.spec?.podSelector?.matchLabels, t.template.metadata?.labels))) {
      say(np, "podSelector matches no pod template");
    }
  }
  for (const pm of byKind("PodMonitor")) {
    const t = templates.find((x) => matches(pm.spec?.selector?.matchLabels, x.template.metadata?.labels));
    if (!t) {
      say(pm, "selector matches no pod template");
      continue;
    }
    for (const e of pm.spec.podMetricsEndpoints || []) {
      if (!t.template.spec.containers.some((c) => (c.ports || []).some((p) => p.name === e.port))) {
        say(pm, `endpoint port ${e.port} is not a named container port`);
      }
      if (e.path !== "/metrics") say(pm, `endpoint path ${e.path} is not /metrics`);
    }
  }
  return problems;
}

// --- main ----------------------------------------------------------------------------------------
let failures = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  let objects;
  try {
    objects = YAML.parseAllDocuments(text).map((d) => {
      if (d.errors.length) throw new Error(d.errors[0].message);
      return d.toJSON();
    }).filter(Boolean);
  } catch (e) {
    console.log(`${file}: YAML: ${e.message}`);
    ++failures;
    continue;
  }
  const label = (o) => `${o.kind || "?"}/${o.metadata?.name || "?"}`;
  for (const o of objects) {
    for (const p of schemaProblems(o)) {
      console.log(`${file}: ${label(o)}: ${p}`);
      ++failures;
    }
  }
  for (const [o, what] of crossChecks(objects)) {
    console.log(`${file}: ${label(o)}: ${what}`);
    ++failures;
  }
  if (!objects.length) {
    console.log(`${file}: no objects`);
    ++failures;
  }
}
process.exit(failures ? 1 : 0);
