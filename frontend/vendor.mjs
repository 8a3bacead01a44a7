#!/usr/bin/env node
// Copy the browser components the server's pages need from node_modules into
// server/static/vendor/, so that pages load them from the server itself (no CDN)
// and CI, which has no node, never needs npm.
//
//   cd frontend && npm ci && npm run vendor
//
// What it does, for each package in PACKAGES:
//   * copies only the distributable files (minified JS/CSS and what the CSS
//     references) to server/static/vendor/<dir>/, dropping the trailing
//     sourceMappingURL comment (source maps are not vendored);
//   * follows every url(...) / @import in the copied CSS: a relative reference is
//     copied alongside (same relative path), an absolute one (http:, https:, //)
//     aborts the run, because the page would fetch it from the network;
//   * aborts if the copied files mention a CDN host a browser could load code or
//     fonts from;
//   * copies the package's licence file(s) and, for bundles (yasgui, the
//     vis-timeline standalone build), the licence texts of the npm packages they
//     are built from into THIRD-PARTY-LICENSES.txt;
//   * writes server/static/vendor/VERSIONS.json (name, version, licence, files
//     with size and sha256), deterministic so that re-running it yields no diff.
//
// server/static/vendor/ is owned by this script: it is deleted and rebuilt.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.join(HERE, "node_modules");
const OUT = path.resolve(HERE, "..", "server", "static", "vendor");

const PACKAGES = [
  {
    name: "@zazuko/yasgui",
    dir: "yasgui",
    // UMD bundle of YASGUI with YASQE, YASR and all their dependencies inlined.
    files: {
      "build/yasgui.min.js": "yasgui.min.js",
      "build/yasgui.min.css": "yasgui.min.css",
    },
    // The @zazuko packages ship no licence file (package.json says MIT).
    licenseFallback: "licenses/zazuko-yasgui.LICENSE.txt",
    bundles: "dependencies",
    globals: ["Yasgui", "Yasqe", "Yasr"],
  },
  {
    name: "leaflet",
    dir: "leaflet",
    files: {
      "dist/leaflet.js": "leaflet.js",
      "dist/leaflet.css": "leaflet.css",
    },
    // leaflet.css references some of these; L.Icon.Default loads
    // marker-icon(-2x).png and marker-shadow.png from the same folder.
    dirs: { "dist/images": "images" },
    globals: ["L"],
  },
  {
    name: "vis-timeline",
    dir: "vis-timeline",
    // The "standalone" build inlines its peer dependencies (vis-data, vis-util,
    // moment, hammerjs, ...) and defines window.vis.
    files: {
      "standalone/umd/vis-timeline-graph2d.min.js": "vis-timeline-graph2d.min.js",
      "styles/vis-timeline-graph2d.min.css": "vis-timeline-graph2d.min.css",
    },
    bundles: "peerDependencies",
    globals: ["vis"],
  },
  {
    name: "topojson-client",
    dir: "topojson-client",
    // UMD build, no runtime dependencies (commander is only for the CLI tools).
    files: {
      "dist/topojson-client.min.js": "topojson-client.min.js",
    },
    globals: ["topojson"],
  },
  {
    name: "world-atlas",
    dir: "world-atlas",
    // Natural Earth 1:110m country outlines as TopoJSON: the offline basemap of the
    // query UI's map view (no tile server). Natural Earth data is public domain.
    files: {
      "countries-110m.json": "countries-110m.json",
    },
    globals: [],
  },
];

// Hosts a browser must never be sent to for code, styles or fonts.
const CDN_RE =
  /(?:https?:)?\/\/(?:[a-z0-9-]+\.)*(?:unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com|code\.jquery\.com|ajax\.googleapis\.com|www\.gstatic\.com|bootstrapcdn\.com|use\.fontawesome\.com|kit\.fontawesome\.com|cdn\.datatables\.net|esm\.sh|skypack\.dev)\b[^\s"'`)]*/gi;

// Runtime features that call external services. They are not load-time
// fetches, so they are reported, not removed: the page turns them off by
// configuration (see frontend/README.md).
const RUNTIME_SERVICES = [
  ["lov.linkeddata.es", "YASQE 'property' and 'class' autocompleters (Linked Open Vocabularies API)"],
  ["dbpedia.org/sparql", "default requestConfig.endpoint and endpoint catalogue entry"],
  ["query.wikidata.org", "endpoint catalogue entry (endpointCatalogueOptions)"],
  ["prefixCcApi", "optional prefix.cc fetch (default null: bundled prefix list is used)"],
];

const LICENSE_FILE_RE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

function die(msg) {
  console.error(`vendor: ${msg}`);
  process.exit(1);
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function pkgDir(name, from = HERE) {
  // Node's lookup: <from>/node_modules/<name>, then each parent up to HERE.
  for (let dir = from; ; dir = path.dirname(dir)) {
    const cand = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(cand, "package.json"))) return cand;
    if (dir === HERE || dir === path.dirname(dir)) return null;
  }
}

function licenseFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => LICENSE_FILE_RE.test(f) && fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

function licenseString(pkg) {
  if (typeof pkg.license === "string") return pkg.license;
  if (pkg.license && pkg.license.type) return pkg.license.type;
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l) => l.type || l).join(" OR ");
  return "UNDECLARED";
}

function repoUrl(pkg) {
  const r = pkg.repository;
  const url = typeof r === "string" ? r : r && r.url;
  return (url || pkg.homepage || "").replace(/^git\+/, "").replace(/\.git$/, "");
}

function stripSourceMap(text, ext) {
  if (ext === ".js") return text.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n");
  if (ext === ".css") return text.replace(/\n?\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "\n");
  return text;
}

function isExternal(ref) {
  return /^(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(ref) && !/^data:/i.test(ref);
}

// Relative url(...) and @import targets of a stylesheet (data: and #fragment excluded).
function cssRefs(css) {
  const refs = new Set();
  const urlRe = /url\(\s*(['"]?)([^'")]+)\1\s*\)/gi;
  const importRe = /@import\s+(['"])([^'"]+)\1/gi;
  for (const re of [urlRe, importRe]) {
    for (const m of css.matchAll(re)) {
      const ref = m[2].trim();
      if (/^(data:|#)/i.test(ref)) continue;
      refs.add(ref);
    }
  }
  return [...refs].sort();
}

function sha256(buf) {
  return crypto.createHash("sha256").update(buf).digest("hex");
}

// The npm packages a bundle is built from: the closure of `field`
// (dependencies or peerDependencies) and then of their dependencies.
function bundledClosure(rootDir, rootPkg, field) {
  const seen = new Map();
  const queue = Object.keys(rootPkg[field] || {}).map((n) => [n, rootDir]);
  while (queue.length) {
    const [name, from] = queue.shift();
    const dir = pkgDir(name, from);
    if (!dir) {
      console.warn(`vendor: note: ${name} (wanted by ${path.relative(NODE_MODULES, from)}) not installed, skipped`);
      continue;
    }
    if (seen.has(dir)) continue;
    const pkg = readJson(path.join(dir, "package.json"));
    seen.set(dir, pkg);
    for (const dep of Object.keys(pkg.dependencies || {})) queue.push([dep, dir]);
  }
  return [...seen.entries()]
    .map(([dir, pkg]) => ({ dir, pkg }))
    .sort((a, b) => a.pkg.name.localeCompare(b.pkg.name) || a.pkg.version.localeCompare(b.pkg.version));
}

function thirdPartyText(spec, rootPkg, entries) {
  const rule = "=".repeat(79);
  const lines = [
    `Third-party software in the ${spec.dir} files of this folder.`,
    "",
    `${rootPkg.name} ${rootPkg.version} is a bundle: its minified files include code from`,
    `the npm packages below (its ${spec.bundles}, recursively, as pinned by`,
    "frontend/package-lock.json). Licence texts are copied from each package; where a",
    "package ships no licence file, its declared licence is given.",
    "Generated by frontend/vendor.mjs - do not edit.",
    "",
  ];
  for (const { dir, pkg } of entries) {
    lines.push(rule, `${pkg.name} ${pkg.version} - ${licenseString(pkg)}`);
    const url = repoUrl(pkg);
    if (url) lines.push(url);
    const files = licenseFiles(dir);
    if (!files.length) {
      lines.push("", `(no licence file in the npm package; package.json declares: ${licenseString(pkg)})`, "");
      continue;
    }
    for (const f of files) {
      lines.push(`--- ${f} `.padEnd(79, "-"), "");
      lines.push(fs.readFileSync(path.join(dir, f), "utf8").replace(/\r\n/g, "\n").trimEnd(), "");
    }
  }
  return lines.join("\n") + "\n";
}

function main() {
  if (!fs.existsSync(NODE_MODULES)) die("frontend/node_modules missing: run `npm ci` first");
  if (path.basename(OUT) !== "vendor" || path.basename(path.dirname(OUT)) !== "static") die(`refusing to clean ${OUT}`);
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });

  const versions = [];
  const problems = [];
  const runtimeNotes = [];

  for (const spec of PACKAGES) {
    const src = pkgDir(spec.name);
    if (!src) die(`${spec.name} not installed: run \`npm ci\``);
    const pkg = readJson(path.join(src, "package.json"));
    const dest = path.join(OUT, spec.dir);
    fs.mkdirSync(dest, { recursive: true });

    const copied = new Map(); // dest relative path -> source absolute path
    const copy = (from, to) => {
      const abs = path.join(dest, to);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      const ext = path.extname(to).toLowerCase();
      if (ext === ".js" || ext === ".css") {
        fs.writeFileSync(abs, stripSourceMap(fs.readFileSync(from, "utf8"), ext));
      } else {
        fs.copyFileSync(from, abs);
      }
      copied.set(to.split(path.sep).join("/"), from);
    };

    for (const [from, to] of Object.entries(spec.files || {})) {
      const abs = path.join(src, from);
      if (!fs.existsSync(abs)) die(`${spec.name}: ${from} not found (layout changed in ${pkg.version}?)`);
      copy(abs, to);
    }
    for (const [from, to] of Object.entries(spec.dirs || {})) {
      const absDir = path.join(src, from);
      if (!fs.existsSync(absDir)) die(`${spec.name}: ${from}/ not found`);
      for (const f of fs.readdirSync(absDir).sort()) {
        if (fs.statSync(path.join(absDir, f)).isFile()) copy(path.join(absDir, f), path.join(to, f));
      }
    }

    // Follow the stylesheets' references; copy relative ones, reject remote ones.
    for (const [rel, from] of [...copied]) {
      if (!rel.endsWith(".css")) continue;
      const css = fs.readFileSync(path.join(dest, rel), "utf8");
      for (const ref of cssRefs(css)) {
        if (isExternal(ref)) {
          problems.push(`${spec.dir}/${rel}: remote reference ${ref}`);
          continue;
        }
        const clean = ref.split(/[?#]/)[0];
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), clean));
        if (target.startsWith("..")) {
          problems.push(`${spec.dir}/${rel}: reference ${ref} leaves the package folder`);
          continue;
        }
        if (copied.has(target)) continue;
        const source = path.resolve(path.dirname(from), clean);
        if (!fs.existsSync(source)) {
          problems.push(`${spec.dir}/${rel}: referenced file ${ref} not found in ${spec.name}`);
          continue;
        }
        copy(source, target);
      }
    }

    // CDN hosts anywhere in the copied text files are load-time risks.
    for (const rel of copied.keys()) {
      if (!/\.(js|css)$/.test(rel)) continue;
      const text = fs.readFileSync(path.join(dest, rel), "utf8");
      for (const m of text.matchAll(CDN_RE)) problems.push(`${spec.dir}/${rel}: CDN reference ${m[0]}`);
      for (const [needle, what] of RUNTIME_SERVICES) {
        if (text.includes(needle)) runtimeNotes.push(`${spec.dir}/${rel}: ${needle} - ${what}`);
      }
    }

    // Licences.
    const licFiles = licenseFiles(src);
    for (const f of licFiles) {
      fs.copyFileSync(path.join(src, f), path.join(dest, f));
      copied.set(f, path.join(src, f));
    }
    if (!licFiles.length) {
      if (!spec.licenseFallback) die(`${spec.name} ships no licence file and has no licenseFallback`);
      fs.copyFileSync(path.join(HERE, spec.licenseFallback), path.join(dest, "LICENSE"));
      copied.set("LICENSE", spec.licenseFallback);
    }
    let bundled = [];
    if (spec.bundles) {
      const entries = bundledClosure(src, pkg, spec.bundles);
      fs.writeFileSync(path.join(dest, "THIRD-PARTY-LICENSES.txt"), thirdPartyText(spec, pkg, entries));
      copied.set("THIRD-PARTY-LICENSES.txt", null);
      bundled = entries.map(({ pkg: p }) => ({ name: p.name, version: p.version, license: licenseString(p) }));
    }

    const files = [...copied.keys()].sort().map((rel) => {
      const buf = fs.readFileSync(path.join(dest, rel));
      return { path: `${spec.dir}/${rel}`, bytes: buf.length, sha256: sha256(buf) };
    });
    versions.push({
      name: pkg.name,
      version: pkg.version,
      license: licenseString(pkg),
      homepage: pkg.homepage || repoUrl(pkg),
      dir: spec.dir,
      globals: spec.globals,
      files,
      ...(bundled.length ? { bundled } : {}),
    });
  }

  if (problems.length) {
    for (const p of problems) console.error(`vendor: ${p}`);
    die(`${problems.length} external/missing reference(s): vendor them or extend this script`);
  }

  const doc = {
    comment: "Generated by frontend/vendor.mjs from frontend/node_modules - do not edit. Update: cd frontend && npm ci && npm run vendor",
    packages: versions,
  };
  fs.writeFileSync(path.join(OUT, "VERSIONS.json"), JSON.stringify(doc, null, 2) + "\n");

  let total = 0;
  for (const v of versions) {
    const size = v.files.reduce((s, f) => s + f.bytes, 0);
    total += size;
    console.log(`${v.name}@${v.version} (${v.license}) -> vendor/${v.dir}/  ${v.files.length} files, ${(size / 1024).toFixed(0)} KiB`);
  }
  console.log(`total ${(total / 1024).toFixed(0)} KiB in ${path.relative(path.resolve(HERE, ".."), OUT)}/`);
  if (runtimeNotes.length) {
    console.log("runtime features that call external services (configure them off in the page):");
    for (const n of [...new Set(runtimeNotes)]) console.log(`  ${n}`);
  }
}

main();
