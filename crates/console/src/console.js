// modgate console: hour/day switches for the traffic panels and search as
// you type. Every page works without it.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  // Reload now and then while the box is ticked; unticked stays so for the tab.
  const refresh = document.getElementById("auto-refresh");
  if (refresh) {
    refresh.checked = sessionStorage.getItem("modgate-refresh") !== "off";
    refresh.addEventListener("change", () =>
      sessionStorage.setItem("modgate-refresh", refresh.checked ? "on" : "off"));
    setInterval(() => {
      if (refresh.checked && !document.hidden) location.reload();
    }, Number(refresh.dataset.seconds) * 1000);
  }
  for (const group of document.querySelectorAll("[data-windows]")) {
    const panels = group.querySelectorAll(".window");
    const tabs = document.createElement("div");
    tabs.className = "tabs";
    const show = (name) => {
      for (const p of panels) p.hidden = p.dataset.window !== name;
      for (const b of tabs.children) b.setAttribute("aria-pressed", String(b.dataset.window === name));
    };
    for (const p of panels) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.window = p.dataset.window;
      b.textContent = p.dataset.label;
      b.addEventListener("click", () => show(p.dataset.window));
      tabs.appendChild(b);
    }
    group.prepend(tabs);
    if (panels.length) show(panels[0].dataset.window);
  }
  // Admin forms post in place and say what happened; without the script
  // they post as forms and the answer (JSON) is shown.
  for (const f of document.querySelectorAll("form.admin")) {
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) return;
      const out = f.querySelector("output");
      out.textContent = "…";
      const resp = await fetch(f.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(f)),
        credentials: "same-origin",
      });
      let said = {};
      try { said = await resp.json(); } catch (_) { /* not JSON */ }
      out.textContent = resp.ok ? "done" : (said.error || resp.statusText);
      out.className = resp.ok ? "ok" : "bad";
      if (resp.ok && !f.classList.contains("prefetch")) setTimeout(() => location.reload(), 800);
      if (resp.ok && f.classList.contains("prefetch")) out.textContent = JSON.stringify(said);
    });
  }
  const form = document.querySelector("form.search");
  if (form && document.getElementById("results")) {
    const input = form.querySelector("input[name=q]");
    let timer, seq = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++seq;
        const url = form.action + "?q=" + encodeURIComponent(input.value);
        const resp = await fetch(url, { credentials: "same-origin" });
        if (!resp.ok || mine !== seq) return;
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        const fresh = doc.getElementById("results");
        if (fresh) document.getElementById("results").replaceWith(fresh);
        history.replaceState(null, "", url);
      }, 200);
    });
  }
});
