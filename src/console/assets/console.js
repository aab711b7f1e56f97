// turnstile console: small progressive enhancements; every page works without it.
"use strict";

// Completion: the playground's id fields offer stored ids of the chosen type.
function completion(select) {
  const input = document.querySelector(`input[name="${select.dataset.completes}"]`);
  if (!input) return;
  const list = document.getElementById(input.getAttribute("list"));
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = new URLSearchParams({ type: select.value, q: input.value });
      try {
        const resp = await fetch(`/console/complete?${q}`, { credentials: "same-origin" });
        if (!resp.ok) return;
        const ids = await resp.json();
        list.replaceChildren(...ids.map((id) => {
          const o = document.createElement("option");
          o.value = id;
          return o;
        }));
      } catch (_) { /* completion is a convenience */ }
    }, 120);
  };
  input.addEventListener("input", refresh);
  input.addEventListener("focus", refresh);
  select.addEventListener("change", refresh);
}

// Copy a <pre> (the curl command) to the clipboard.
function copier(button) {
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy)?.innerText ?? "";
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    const label = button.textContent;
    button.textContent = button.dataset.copied || "✓";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}

// The impact form: load a pack file's current text, or an uploaded file.
function impactForm(form) {
  const name = form.querySelector('input[name="file"]');
  const text = form.querySelector('textarea[name="text"]');
  form.querySelector("[data-load-current]")?.addEventListener("click", () => {
    const t = [...document.querySelectorAll("template[data-file]")]
      .find((el) => el.dataset.file === name.value.trim());
    if (t) text.value = t.content.textContent;
  });
  form.querySelector("[data-upload]")?.addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    text.value = await file.text();
    if (!name.value) name.value = file.name;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-completes]").forEach(completion);
  document.querySelectorAll("button[data-copy]").forEach(copier);
  const impact = document.getElementById("impact");
  if (impact) impactForm(impact);
});
