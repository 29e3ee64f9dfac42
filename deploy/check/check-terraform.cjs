// Checks the Terraform tree (modules/, the root stack/, environments/<env>/{terraform.tfvars,
// backend.hcl}) without terraform (no terraform or OpenTofu binary installs on these
// machines, so `terraform validate` is not run and not pretended): every file parses (npm
// @cdktf/hcl2json, HashiCorp's HCL parser compiled to WebAssembly); every var./local./module./
// data./resource reference is declared in its module; module calls pass only variables the module
// declares, every required one, and read only outputs it has; tfvars set only declared variables;
// versions are pinned; and the policy checks hold (encryption, no 0.0.0.0/0 on admin ports,
// deletion protection and Multi-AZ in prod, Object Lock in COMPLIANCE mode on the evidence
// bucket, immutable scanned images, private database).
//   node check-terraform.cjs <terraform dir>     (exit 1 and one line per problem when any)
"use strict";
const fs = require("fs");
const path = require("path");
const { parse } = require("@cdktf/hcl2json");

const problems = [];
const say = (file, what) => problems.push(`${file}: ${what}`);

function tfDirs(root) {
  const out = [];
  const walk = (d) => {
    const entries = fs.readdirSync(d, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name.endsWith(".tf"))) out.push(d);
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith(".")) walk(path.join(d, e.name));
  };
  walk(root);
  return out;
}

// Every string that holds an expression ("${...}" in hcl2json's output), with where it is.
function expressions(value, out = []) {
  if (typeof value === "string") {
    if (value.includes("${")) out.push(value);
  } else if (Array.isArray(value)) {
    value.forEach((v) => expressions(v, out));
  } else if (value && typeof value === "object") {
    Object.values(value).forEach((v) => expressions(v, out));
  }
  return out;
}

async function loadModule(dir) {
  const m = { dir, files: {}, variables: {}, outputs: {}, locals: new Set(), modules: {}, resources: {}, data: {}, terraform: [] };
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".tf")).sort()) {
    const file = path.join(dir, f);
    let json;
    try {
      json = await parse(file, fs.readFileSync(file, "utf8"));
    } catch (e) {
      say(file, `does not parse: ${String(e.message || e).split("\n")[0]}`);
      continue;
    }
    m.files[file] = json;
    for (const [name, [v]] of Object.entries(json.variable || {})) m.variables[name] = { ...v, file };
    for (const [name, [v]] of Object.entries(json.output || {})) m.outputs[name] = { ...v, file };
    for (const block of json.locals || []) for (const name of Object.keys(block)) m.locals.add(name);
    for (const [name, [v]] of Object.entries(json.module || {})) m.modules[name] = { ...v, file };
    for (const [type, byName] of Object.entries(json.resource || {})) {
      for (const [name, [v]] of Object.entries(byName)) m.resources[`${type}.${name}`] = { type, name, body: v, file };
    }
    for (const [type, byName] of Object.entries(json.data || {})) {
      for (const [name, [v]] of Object.entries(byName)) m.data[`${type}.${name}`] = { ...v, file };
    }
    for (const t of json.terraform || []) m.terraform.push({ ...t, file });
  }
  return m;
}

const REF = {
  variable: /\bvar\.([A-Za-z_][\w-]*)/g,
  local: /\blocal\.([A-Za-z_][\w-]*)/g,
  module: /\bmodule\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?/g,
  data: /\bdata\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)/g,
  resource: /(?<![\w.])((?:aws|tls)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)/g,
};

function checkReferences(m, modulesByDir) {
  for (const [file, json] of Object.entries(m.files)) {
    for (const expr of expressions(json)) {
      for (const [, name] of expr.matchAll(REF.variable)) {
        if (!(name in m.variables)) say(file, `var.${name} is not declared in ${path.basename(m.dir)}`);
      }
      for (const [, name] of expr.matchAll(REF.local)) {
        if (!m.locals.has(name)) say(file, `local.${name} is not declared`);
      }
      for (const [, name, output] of expr.matchAll(REF.module)) {
        const call = m.modules[name];
        if (!call) {
          say(file, `module.${name} is not declared`);
          continue;
        }
        const target = modulesByDir.get(path.resolve(m.dir, call.source));
        if (target && output && !(output in target.outputs)) {
          say(file, `module.${name}.${output}: ${call.source} has no output "${output}"`);
        }
      }
      for (const [, type, name] of expr.matchAll(REF.data)) {
        if (!(`${type}.${name}` in m.data)) say(file, `data.${type}.${name} is not declared`);
      }
      for (const [whole, type, name] of expr.matchAll(REF.resource)) {
        if (expr.includes(`data.${whole}`)) continue;
        if (!(`${type}.${name}` in m.resources)) say(file, `${type}.${name} is not declared`);
      }
    }
  }
  const META = new Set(["source", "version", "providers", "depends_on", "count", "for_each"]);
  for (const [name, call] of Object.entries(m.modules)) {
    const dir = path.resolve(m.dir, call.source || "");
    const target = modulesByDir.get(dir);
    if (!target) {
      say(call.file, `module "${name}": source ${call.source} is not a module of this tree`);
      continue;
    }
    for (const arg of Object.keys(call)) {
      if (arg === "file" || META.has(arg)) continue;
      if (!(arg in target.variables)) say(call.file, `module "${name}": ${call.source} declares no variable "${arg}"`);
    }
    for (const [v, decl] of Object.entries(target.variables)) {
      if (!("default" in decl) && !(v in call)) say(call.file, `module "${name}": required variable "${v}" of ${call.source} is not set`);
    }
  }
  for (const [name, v] of Object.entries(m.variables)) {
    if (!v.description) say(v.file, `variable "${name}" has no description`);
    if (!v.type) say(v.file, `variable "${name}" has no type`);
  }
}

const first = (x) => (Array.isArray(x) ? x[0] : x);

function checkPolicies(m) {
  for (const r of Object.values(m.resources)) {
    const b = r.body;
    const where = `${r.type}.${r.name}`;
    switch (r.type) {
      case "aws_db_instance":
        if (b.storage_encrypted !== true) say(r.file, `${where}: storage_encrypted must be true`);
        if (!b.kms_key_id) say(r.file, `${where}: needs a kms_key_id`);
        if (b.publicly_accessible !== false) say(r.file, `${where}: publicly_accessible must be false`);
        if (b.iam_database_authentication_enabled !== true) say(r.file, `${where}: IAM authentication must be on`);
        if (!b.backup_retention_period) say(r.file, `${where}: needs backups (backup_retention_period)`);
        if (b.deletion_protection === undefined) say(r.file, `${where}: deletion_protection must be set`);
        if (b.multi_az === undefined) say(r.file, `${where}: multi_az must be set`);
        break;
      case "aws_efs_file_system":
        if (b.encrypted !== true) say(r.file, `${where}: encrypted must be true`);
        break;
      case "aws_ecr_repository":
        if (b.image_tag_mutability !== "IMMUTABLE") say(r.file, `${where}: tags must be IMMUTABLE`);
        if (first(b.image_scanning_configuration)?.scan_on_push !== true) say(r.file, `${where}: scan_on_push must be true`);
        if (first(b.encryption_configuration)?.encryption_type !== "KMS") say(r.file, `${where}: images must be KMS-encrypted`);
        break;
      case "aws_eks_cluster":
        if (!first(b.encryption_config)) say(r.file, `${where}: Kubernetes secrets must be encrypted (encryption_config)`);
        break;
      case "aws_cloudwatch_log_group":
        if (!b.kms_key_id) say(r.file, `${where}: needs a kms_key_id`);
        if (!b.retention_in_days) say(r.file, `${where}: needs retention_in_days`);
        break;
      case "aws_sns_topic":
        if (!b.kms_master_key_id) say(r.file, `${where}: needs kms_master_key_id`);
        break;
      case "aws_kms_key":
        if (b.enable_key_rotation !== true) say(r.file, `${where}: enable_key_rotation must be true`);
        break;
      case "aws_s3_bucket": {
        const rs = Object.values(m.resources);
        const ref = `aws_s3_bucket.${r.name}.`;
        const of = (type) => rs.filter((x) => x.type === type && String(x.body.bucket).includes(ref));
        if (b.object_lock_enabled !== true) say(r.file, `${where}: the evidence bucket needs object_lock_enabled = true`);
        const lock = of("aws_s3_bucket_object_lock_configuration")[0];
        const mode = first(first(lock?.body.rule)?.default_retention)?.mode;
        if (mode !== "COMPLIANCE") say(r.file, `${where}: Object Lock must default to COMPLIANCE mode (found ${mode || "none"})`);
        const sse = of("aws_s3_bucket_server_side_encryption_configuration")[0];
        if (first(first(sse?.body.rule)?.apply_server_side_encryption_by_default)?.sse_algorithm !== "aws:kms") {
          say(r.file, `${where}: needs default SSE-KMS encryption`);
        }
        const pab = of("aws_s3_bucket_public_access_block")[0]?.body || {};
        for (const k of ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]) {
          if (pab[k] !== true) say(r.file, `${where}: public access block ${k} must be true`);
        }
        if (!of("aws_s3_bucket_versioning").length) say(r.file, `${where}: needs versioning (Object Lock requires it)`);
        break;
      }
      case "aws_security_group":
        for (const rule of b.ingress || []) {
          const open = (rule.cidr_blocks || []).includes("0.0.0.0/0") || (rule.ipv6_cidr_blocks || []).includes("::/0");
          if (open) say(r.file, `${where}: ingress ${rule.from_port}-${rule.to_port} open to the internet (0.0.0.0/0)`);
        }
        break;
      case "aws_security_group_rule":
        if (b.type === "ingress" && (b.cidr_blocks || []).includes("0.0.0.0/0")) {
          say(r.file, `${where}: ingress ${b.from_port}-${b.to_port} open to the internet (0.0.0.0/0)`);
        }
        break;
      default:
        break;
    }
  }
}

// The root module: the one with a backend (terraform/stack). Its versions must be pinned and its
// state must live in S3; each environment gives it a backend.hcl and a terraform.tfvars.
function checkRoot(m) {
  const tf = m.terraform;
  const providers = tf.flatMap((t) => t.required_providers || []);
  if (!providers.length) say(m.dir, "no required_providers");
  for (const block of providers) {
    for (const [name, p] of Object.entries(block)) {
      if (!/^\d+\.\d+\.\d+$/.test(String(p.version || ""))) say(m.dir, `provider ${name} is not pinned to one version (${p.version || "none"})`);
    }
  }
  if (!tf.some((t) => t.required_version)) say(m.dir, "no required_version");
  if (!tf.some((t) => t.backend && t.backend.s3)) say(m.dir, "state must live in the S3 backend");
}

async function parseFile(file) {
  try {
    return await parse(file, fs.readFileSync(file, "utf8"));
  } catch (e) {
    say(file, `does not parse: ${String(e.message || e).split("\n")[0]}`);
    return null;
  }
}

async function checkEnvironment(dir, root) {
  const env = path.basename(dir);
  const tfvarsFile = path.join(dir, "terraform.tfvars");
  const backendFile = path.join(dir, "backend.hcl");
  for (const f of [tfvarsFile, backendFile]) if (!fs.existsSync(f)) say(dir, `no ${path.basename(f)}`);
  const tfvars = (fs.existsSync(tfvarsFile) && (await parseFile(tfvarsFile))) || {};
  const backend = (fs.existsSync(backendFile) && (await parseFile(backendFile))) || {};
  for (const k of Object.keys(tfvars)) {
    if (!(k in root.variables)) say(tfvarsFile, `sets "${k}", which is not a variable of ${path.basename(root.dir)}`);
  }
  for (const [v, decl] of Object.entries(root.variables)) {
    if (!("default" in decl) && !(v in tfvars)) say(tfvarsFile, `does not set required variable "${v}"`);
  }
  if (tfvars.environment !== undefined && tfvars.environment !== env) {
    say(tfvarsFile, `environment is "${tfvars.environment}" in the ${env} folder`);
  }
  for (const k of ["bucket", "key", "region"]) if (!backend[k]) say(backendFile, `the S3 backend needs ${k}`);
  if (!backend.dynamodb_table) say(backendFile, "the S3 backend needs a dynamodb_table lock");
  if (backend.encrypt !== true) say(backendFile, "the S3 backend must encrypt the state");
  if (backend.key && !String(backend.key).includes(env)) say(backendFile, `the state key ${backend.key} does not name ${env}`);
  for (const [k, v] of Object.entries(tfvars)) {
    if (/cidr/.test(k) && Array.isArray(v) && v.includes("0.0.0.0/0") && k !== "fix_client_cidrs") {
      say(tfvarsFile, `${k} opens an admin endpoint to 0.0.0.0/0`);
    }
  }
  if (env === "prod") {
    if (tfvars.db_multi_az !== true) say(tfvarsFile, "prod: db_multi_az must be true");
    if (tfvars.deletion_protection !== true) say(tfvarsFile, "prod: deletion_protection must be true");
    if ((tfvars.fix_client_cidrs || []).includes("0.0.0.0/0")) say(tfvarsFile, "prod: FIX must be open to counterparties only");
    if (!(tfvars.db_backup_retention_days >= 7)) say(tfvarsFile, "prod: keep at least 7 days of database backups");
  }
}

(async () => {
  const root = path.resolve(process.argv[2] || "terraform");
  const dirs = tfDirs(root);
  const modules = new Map();
  for (const d of dirs) modules.set(path.resolve(d), await loadModule(d));
  for (const m of modules.values()) {
    checkReferences(m, modules);
    checkPolicies(m);
  }
  const roots = [...modules.values()].filter((m) => m.terraform.some((t) => t.backend));
  if (roots.length !== 1) {
    say(root, `expected one root module (with a backend), found ${roots.length}`);
  } else {
    checkRoot(roots[0]);
    const envRoot = path.join(root, "environments");
    const envs = fs.existsSync(envRoot) ? fs.readdirSync(envRoot).filter((e) => fs.statSync(path.join(envRoot, e)).isDirectory()) : [];
    if (!envs.includes("dev") || !envs.includes("prod")) say(root, "environments/dev and environments/prod are needed");
    for (const e of envs) await checkEnvironment(path.join(envRoot, e), roots[0]);
  }
  for (const p of problems) console.log(p);
  process.exit(problems.length ? 1 : 0);
})();
