// The console in Chromium, driven by playwright-core: navigation, search,
// module pages compared with what the Rust test read from the store, what
// each viewer may see, axe-core's accessibility rules, and that no request
// leaves the server. Run by e2e/console.rs with MODGATE_CONSOLE_TEST (JSON);
// prints every failed check and exits 1 when there is one.
"use strict";
const path = require("path");
const fs = require("fs");

const cfg = JSON.parse(process.env.MODGATE_CONSOLE_TEST);
const { chromium } = require(path.join(cfg.nodeModules, "playwright-core"));
const axeSource = fs.readFileSync(path.join(cfg.nodeModules, "axe-core", "axe.min.js"), "utf8");

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
};

async function text(page, selector) {
  const el = await page.$(selector);
  return el ? (await el.innerText()).trim() : null;
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0,
    `axe on ${name}: no serious or critical violation ${JSON.stringify(bad.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target)]))}`);
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(cfg.shots, name), fullPage });
}

(async () => {
  const base = new URL(cfg.base);
  const context = await chromium.launchPersistentContext(cfg.profile, {
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  const hosts = new Set();
  const broken = [];
  context.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol !== "data:") hosts.add(u.host);
  });
  context.on("response", (r) => {
    const u = new URL(r.url());
    // Pages' own resources (styles, script, icon) must all load.
    if (u.pathname.startsWith("/-/console") || u.pathname.startsWith("/favicon")) {
      if (r.status() !== 200) broken.push(`${r.status()} ${u.pathname}`);
    }
  });
  const as = async (authorization) => {
    const page = await context.newPage();
    if (authorization) await page.setExtraHTTPHeaders({ Authorization: authorization });
    return page;
  };
  const e = cfg.expect;

  // The admin's overview after the traffic.
  const admin = await as(cfg.admin);
  let resp = await admin.goto(cfg.base + "/");
  check(resp.status() === 200, `admin overview: 200 (got ${resp.status()})`);
  check((await text(admin, "#version") || "").startsWith("modgate " + e.version),
    `the overview names the build: ${await text(admin, "#version")}`);
  const requests = Number(await text(admin, "#hour-requests"));
  check(requests >= e.minRequests, `last hour's requests ${requests} >= ${e.minRequests}`);
  check(/%$/.test(await text(admin, "#hour-hit-ratio")), `a hit ratio: ${await text(admin, "#hour-hit-ratio")}`);
  check(/ms|s$/.test(await text(admin, "#hour-p99")), `a p99: ${await text(admin, "#hour-p99")}`);
  check(await admin.$$eval("#hour-chart rect.req", (r) => r.length) === 60, "an hour's chart has 60 bars");
  const dead = await admin.$(`tr[data-upstream="${e.dead}"] td:nth-child(2)`);
  check(dead && /down|trying/.test(await dead.getAttribute("class")), "the dead mirror is not up");
  const good = await admin.$(`tr[data-upstream="${e.good}"] td:nth-child(2)`);
  check(good && (await good.getAttribute("class")) === "up", "the good mirror is up");
  check(await admin.$('tr[data-upstream="direct"]') !== null, "direct is listed among the upstreams");
  const timeline = await text(admin, "#upstream-events");
  check(timeline && timeline.includes(e.dead) && timeline.includes("500"),
    `the timeline shows the dead mirror's failures and their cause: ${timeline}`);
  check(Number(await text(admin, "#policy-deny")) >= 1, "policy denials are counted");
  check(Number(await text(admin, "#vcs-mirrors")) === 1, `one git mirror: ${await text(admin, "#vcs-mirrors")}`);
  check(/old/.test(await text(admin, "#vulndb-age") || ""), `the vulnerability mirror's age: ${await text(admin, "#vulndb-age")}`);
  const misses = await text(admin, "#recent-misses");
  check((misses || "").includes(e.miss) && misses.includes("failed: "), `recent misses name ${e.miss}, failed: ${misses}`);
  const config = await text(admin, "#config");
  check(config && config.includes("upstream") && !config.includes(e.secret),
    "the configuration is shown, without secrets");
  check(await admin.$('link[rel="icon"][href="/favicon.svg"]') !== null, "a favicon");
  await axe(admin, "the overview");
  await shot(admin, "overview.png", false);
  await shot(admin, "overview-full.png");

  // Navigation and search (the script updates the results as one types).
  await admin.click('nav a[href="/-/modules"]');
  await admin.waitForURL("**/-/modules");
  const all = await admin.$$eval("#modules tr[data-module]", (rows) => rows.map((r) => r.dataset.module));
  check(JSON.stringify(all) === JSON.stringify(e.modules), `every cached module is listed: ${all}`);
  await admin.fill("#q", "vulner");
  await admin.waitForFunction(() =>
    document.querySelectorAll("#modules tr[data-module]").length === 1);
  check(admin.url().endsWith("?q=vulner"), `the address follows the search: ${admin.url()}`);
  await axe(admin, "the module search");
  await admin.click('#modules a[href="/-/module/example.com/vulnerable"]');
  await admin.waitForURL("**/-/module/example.com/vulnerable");
  const advisories = await text(admin, "#advisories");
  check(advisories && advisories.includes("GO-2025-0001") && advisories.includes("GO-2025-0003"),
    `advisories from the mirrored database: ${advisories}`);
  const v100 = await text(admin, 'tr[data-version="v1.0.0"] .status');
  check(v100 && v100.includes("GO-2025-0001") && !v100.includes("GO-2025-0003"),
    `v1.0.0 is affected by GO-2025-0001 only: ${v100}`);

  // A module built from git: its facts against the store's.
  await admin.goto(cfg.base + "/-/module/" + e.direct.module);
  const row = `tr[data-version="${e.direct.version}"]`;
  check(await text(admin, `${row} .commit`) === e.direct.hash, `the commit is the .info's: ${await text(admin, `${row} .commit`)}`);
  check(await text(admin, `${row} .vcs`) === e.direct.vcs, "the VCS is the .info's");
  check(await text(admin, `${row} .url`) === e.direct.url, `the URL is the .info's: ${await text(admin, `${row} .url`)}`);
  check(((await text(admin, `${row} .ref`)) ?? "") === e.direct.ref, "the ref is the .info's");
  check(await admin.getAttribute(`${row} .size`, "data-bytes") === String(e.direct.bytes),
    `the size is the stored files': ${await admin.getAttribute(`${row} .size`, "data-bytes")} vs ${e.direct.bytes}`);
  check(await text(admin, `${row} .served`) === String(e.direct.served), `served ${e.direct.served} times: ${await text(admin, `${row} .served`)}`);
  check(await text(admin, `${row} .time`) === e.direct.time, `the time is the .info's: ${await text(admin, `${row} .time`)}`);
  check(await text(admin, "#license") === "LICENSE", `the license file: ${await text(admin, "#license")}`);
  check(await admin.$('#requires a[href="/-/module/example.com/dep"]') !== null, "its requirement links to the cached module");
  await axe(admin, "a module page");
  await shot(admin, "module.png");

  await admin.goto(cfg.base + "/-/module/example.com/dep");
  const requiredBy = await text(admin, "#required-by");
  check(requiredBy && requiredBy.includes(`${e.direct.module}@${e.direct.version}`),
    `the admin sees who requires example.com/dep: ${requiredBy}`);
  await admin.goto(cfg.base + "/-/module/example.com/retracted");
  check((await text(admin, 'tr[data-version="v1.0.0"] .status') || "").includes("Published with a broken API."),
    "a retracted version with its rationale");
  await admin.goto(cfg.base + "/-/module/example.com/old");
  check((await text(admin, "#deprecated") || "").includes("use example.com/new instead."), "the deprecation");

  // Admin actions: a forged form token is refused, the real form quarantines.
  const forms = await admin.$$eval("form.admin", (f) => f.map((x) => x.getAttribute("action")));
  check(forms.length === 3, `refresh, quarantine and remove forms: ${forms} on ${admin.url()}`);
  const quarantine = 'tr[data-version="v1.0.0"] form[action="/admin/api/quarantine"]';
  const answered = () => admin.waitForFunction((sel) => {
    const o = document.querySelector(sel + " output");
    return o && o.textContent && o.textContent !== "…";
  }, quarantine);
  await admin.$eval(quarantine + " input[name=token]", (i) => { i.value = "forged"; });
  await admin.click(quarantine + " button");
  await answered();
  const refused = await text(admin, quarantine + " output");
  check(/token/.test(refused || ""), `a forged form token is refused: ${refused}`);
  await admin.reload();
  await admin.click(quarantine + " button");
  await answered();
  check(await text(admin, quarantine + " output") === "done", "the admin quarantines a version");
  resp = await admin.goto(cfg.base + "/-/module/example.com/old");
  check(resp.status() === 404, `its only version gone, the module is not cached (${resp.status()})`);

  // bob may read public modules only.
  const bob = await as(cfg.bob);
  resp = await bob.goto(cfg.base + "/");
  check(resp.status() === 403, `bob gets no overview (${resp.status()})`);
  await bob.goto(cfg.base + "/-/modules");
  const seen = await bob.$$eval("#modules tr[data-module]", (rows) => rows.map((r) => r.dataset.module));
  check(!seen.includes(e.direct.module) && seen.includes("example.com/dep"), `bob's search hides the guarded module: ${seen}`);
  resp = await bob.goto(cfg.base + "/-/module/" + e.direct.module);
  const hidden = [resp.status(), (await text(bob, "main")).replace(e.direct.module, "X")];
  resp = await bob.goto(cfg.base + "/-/module/" + e.missing);
  const missing = [resp.status(), (await text(bob, "main")).replace(e.missing, "X")];
  check(JSON.stringify(hidden) === JSON.stringify(missing) && hidden[0] === 404,
    `a hidden module reads as a missing one: ${JSON.stringify(hidden)} vs ${JSON.stringify(missing)}`);
  await bob.goto(cfg.base + "/-/module/example.com/dep");
  check(!(await text(bob, "main")).includes(e.direct.module), "bob does not see the guarded dependent");
  check(await bob.$$eval("form.admin", (f) => f.length) === 0, "bob gets no admin forms");
  const bobRemove = await context.request.post(cfg.base + "/admin/api/remove", {
    headers: { Authorization: cfg.bob },
    form: { module: "example.com/dep", version: "v1.0.0", token: "0".repeat(64) },
  });
  check(bobRemove.status() === 403, `bob may not remove a version (${bobRemove.status()})`);
  await axe(bob, "the not-found page");

  // Anonymous viewers read public modules (the auth file's default) only.
  const anon = await as(null);
  // (A navigation to a 401 with a Basic challenge fails in headless Chromium.)
  const overviewAnon = await context.request.get(cfg.base + "/");
  check(overviewAnon.status() === 401, `no overview anonymously (${overviewAnon.status()})`);
  resp = await anon.goto(cfg.base + "/-/modules?q=modgate-direct");
  check(resp.status() === 200 && (await text(anon, "#matched")).startsWith("0 modules"),
    `anonymous search finds no guarded module: ${await text(anon, "#matched")}`);

  // A phone-sized screen, dark.
  const phone = await as(cfg.admin);
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.emulateMedia({ colorScheme: "dark" });
  await phone.goto(cfg.base + "/-/module/example.com/vulnerable");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `nothing wider than a phone's screen (${overflow} px)`);
  await axe(phone, "a module page, dark, on a phone");
  await shot(phone, "module-dark-phone.png");

  check(broken.length === 0, `the pages' own files load: ${broken}`);
  check([...hosts].every((h) => h === base.host), `no request leaves the server: ${[...hosts]}`);
  await context.close();
  if (failures.length) {
    console.error(`${failures.length} check(s) failed:\n` + failures.join("\n"));
    process.exit(1);
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
