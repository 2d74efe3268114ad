// imagezoo report: sortable tables, filters, and the image comparison viewer.
// Hand-written, no dependencies. Data comes from the JSON block #zoo-data; every string
// from it is put into the page with textContent, never parsed as markup.
(() => {
  "use strict";
  performance.mark("zoo-script-start");
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  };

  // -- sortable tables ------------------------------------------------------------------------
  // First click on a metric column puts the best first (↑: descending, ↓: ascending); the next
  // click reverses. Empty cells (unavailable, failed) always sort last.
  const key = (row, idx, kind) => {
    const td = row.cells[idx];
    const v = td ? td.dataset.v : undefined;
    if (kind === "num") {
      const f = v === undefined || v === "" ? NaN : parseFloat(v);
      return Number.isNaN(f) ? null : f;
    }
    return (v === undefined ? td.textContent : v).toLowerCase();
  };
  const sortTable = (table, th) => {
    const idx = Array.from(th.parentNode.children).indexOf(th);
    const kind = th.dataset.sort || "text";
    const best = kind === "num" ? (th.dataset.dir === "-1" ? 1 : -1) : 1;  // 1: ascending
    const order = th.dataset.order ? -Number(th.dataset.order) : best;
    for (const other of th.parentNode.children) { delete other.dataset.order; other.removeAttribute("aria-sort"); }
    th.dataset.order = String(order);
    th.setAttribute("aria-sort", order === 1 ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = key(a, idx, kind), y = key(b, idx, kind);
      if (x === null || x === "") return y === null || y === "" ? 0 : 1;
      if (y === null || y === "") return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * order;
    });
    body.append(...rows);
  };
  for (const table of $$("table.sortable")) {
    for (const th of $$("thead th", table)) {
      th.tabIndex = 0;
      th.addEventListener("click", () => sortTable(table, th));
      th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, th); } });
    }
  }

  // -- filters --------------------------------------------------------------------------------
  const applyFilters = () => {
    const ds = $("#f-dataset") ? $("#f-dataset").value : "";
    const m = ($("#f-method") ? $("#f-method").value : "").toLowerCase();
    const s = ($("#f-setting") ? $("#f-setting").value : "").toLowerCase();
    for (const sec of $$("section.bench")) sec.hidden = Boolean(ds) && sec.dataset.dataset !== ds;
    for (const tr of $$("tr[data-method]")) {
      const setting = (tr.dataset.setting || "").toLowerCase();
      tr.hidden = (m && !tr.dataset.method.toLowerCase().includes(m)) || (s && !setting.includes(s));
    }
    for (const card of $$("article.card")) card.hidden = Boolean(m) && !card.dataset.method.toLowerCase().includes(m);
    document.body.classList.toggle("no-cost", $("#f-cost") ? !$("#f-cost").checked : false);
  };
  for (const id of ["#f-dataset", "#f-method", "#f-setting", "#f-cost"]) {
    const input = $(id);
    if (input) input.addEventListener("input", applyFilters);
  }

  // -- image comparison viewer ------------------------------------------------------------------
  const dataNode = $("#zoo-data");
  const data = dataNode ? JSON.parse(dataNode.textContent) : { viewers: [] };
  const fmt = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(2) : v.toFixed(4));

  class Viewer {
    constructor(root, spec) {
      this.root = root;
      this.spec = spec;
      this.sources = ["input", ...(spec.items.some((i) => (spec.images[i] || {}).style) ? ["style"] : []), "reference", ...spec.labels];
      this.item = Math.max(0, spec.items.findIndex((i) => Object.keys(spec.images[i] || {}).length > 0));
      this.left = spec.items.some((i) => (spec.images[i] || {}).reference) ? "reference" : "input";
      this.right = spec.labels.find((l) => spec.items.some((i) => (spec.images[i] || {})[l])) || spec.labels[0] || "input";
      this.mode = "side";
      this.view = { s: 1, x: 0, y: 0 };
      this.split = 50;
      this.build();
      this.render();
    }

    select(cls, value, onchange) {
      const s = el("select", { class: cls });
      for (const v of value) s.append(el("option", { value: String(v.value), text: v.text }));
      s.addEventListener("change", () => onchange(s.value));
      return s;
    }

    build() {
      const spec = this.spec;
      const items = spec.items.map((item, i) => ({ value: i, text: item + (Object.keys(spec.images[item] || {}).length ? "" : " (no saved images)") }));
      const sources = this.sources.map((label) => ({ value: label, text: label }));
      this.itemSel = this.select("v-item", items, (v) => { this.item = Number(v); this.render(); });
      this.leftSel = this.select("v-left", sources, (v) => { this.left = v; this.render(); });
      this.rightSel = this.select("v-right", sources, (v) => { this.right = v; this.render(); });
      const button = (text, title, fn, cls) => { const b = el("button", { type: "button", title, text, class: cls || "" }); b.addEventListener("click", fn); return b; };
      this.modeBtn = button("before/after slider", "toggle side by side / before-after slider (s)", () => this.toggleMode(), "v-mode");
      const controls = el("div", { class: "v-controls" },
        button("◀", "previous item (←)", () => this.step(-1), "v-prev"), this.itemSel, button("▶", "next item (→)", () => this.step(1), "v-next"),
        el("label", { text: "left " }, this.leftSel), el("label", { text: "right " }, this.rightSel), this.modeBtn,
        button("−", "zoom out (-)", () => this.zoom(1 / 1.5)), button("+", "zoom in (+)", () => this.zoom(1.5)),
        button("1:1", "reset zoom and pan (0)", () => this.reset()),
        el("span", { class: "muted v-help", text: "←/→ item · ↑/↓ right image · [ ] left image · s slider · wheel/drag zoom & pan" }));
      this.panes = [this.pane(), this.pane()];
      this.side = el("div", { class: "v-side" }, this.panes[0].box, this.panes[1].box);
      // before/after: the right image over the left one, cut at the slider
      this.under = el("img", { class: "v-img", alt: "", draggable: "false" });
      this.over = el("img", { class: "v-img v-over", alt: "", draggable: "false" });
      this.bar = el("div", { class: "v-bar" });
      this.sliderFrame = el("div", { class: "v-frame" }, this.under, this.over, this.bar);
      this.range = el("input", { type: "range", min: "0", max: "100", value: "50", class: "v-range", "aria-label": "before/after split" });
      this.range.addEventListener("input", () => { this.split = Number(this.range.value); this.applySplit(); });
      this.sliderCaption = el("div", { class: "v-caption" });
      this.slider = el("div", { class: "v-slider", hidden: "" }, this.sliderCaption, this.sliderFrame, this.range);
      this.vals = el("table", { class: "v-vals" });
      this.note = el("p", { class: "muted v-note" });
      this.root.append(controls, el("div", { class: "v-body" }, el("div", { class: "v-stage" }, this.side, this.slider), el("div", { class: "v-side-panel" }, this.vals, this.note)));
      for (const frame of [this.panes[0].frame, this.panes[1].frame, this.sliderFrame]) this.interact(frame);
      this.root.addEventListener("keydown", (e) => this.key(e));
    }

    pane() {
      const caption = el("div", { class: "v-caption" });
      const img = el("img", { class: "v-img", alt: "", draggable: "false" });
      const missing = el("div", { class: "v-missing", hidden: "" });
      const frame = el("div", { class: "v-frame" }, img, missing);
      return { box: el("div", { class: "v-pane" }, caption, frame), caption, img, missing, frame };
    }

    src(label) { return (this.spec.images[this.spec.items[this.item]] || {})[label]; }

    show(img, label, missing) {
      const src = this.src(label);
      if (src) {
        if (img.getAttribute("src") !== src) img.setAttribute("src", src);
        img.hidden = false;
        if (missing) missing.hidden = true;
      } else {
        img.removeAttribute("src");
        img.hidden = true;
        if (missing) { missing.hidden = false; missing.textContent = `no saved image of ${label} for this item`; }
      }
    }

    render() {
      const spec = this.spec, item = spec.items[this.item];
      this.itemSel.value = String(this.item);
      this.leftSel.value = this.left;
      this.rightSel.value = this.right;
      [[this.panes[0], this.left], [this.panes[1], this.right]].forEach(([p, label]) => {
        p.caption.textContent = label;
        this.show(p.img, label, p.missing);
      });
      this.show(this.under, this.left);
      this.show(this.over, this.right);
      this.sliderCaption.textContent = `${this.left}  ◀ | ▶  ${this.right}`;
      const ref = this.src("reference") || this.src(this.spec.labels.find((l) => this.src(l)) || "input");
      if (ref) {
        const probe = new Image();
        probe.onload = () => { for (const f of this.frames()) f.style.aspectRatio = `${probe.naturalWidth} / ${probe.naturalHeight}`; };
        probe.src = ref;
      }
      this.applyView();
      this.applySplit();
      // the per-item values of the two images shown
      this.vals.replaceChildren();
      // columns: the two images shown, less those without per-item values (input, reference)
      const cols = [this.left, this.right].filter((c, i, all) => spec.values[c] && all.indexOf(c) === i);
      this.vals.append(el("thead", {}, el("tr", {}, el("th", { text: item }), ...cols.map((c) => el("th", { text: c })))));
      const body = el("tbody");
      for (const m of spec.metrics) {
        const vs = cols.map((c) => ((spec.values[c] || {})[item] || {})[m]);
        if (vs.every((v) => v === undefined)) continue;
        const dir = spec.dirs[m];
        const better = vs.length < 2 || dir === null || dir === undefined || vs.some((v) => v === undefined || v === null) || vs[0] === vs[1] ? -1
          : (dir ? (vs[0] > vs[1] ? 0 : 1) : (vs[0] < vs[1] ? 0 : 1));
        body.append(el("tr", {}, el("th", { text: m + (dir === true ? " ↑" : dir === false ? " ↓" : "") }),
          ...vs.map((v, i) => el("td", { class: i === better ? "best" : "", text: fmt(v) }))));
      }
      this.vals.append(body);
      const errs = [this.left, this.right].map((c) => (spec.errors[c] || {})[item]).filter(Boolean);
      this.note.textContent = errs.length ? `failed: ${errs.join("; ")}` : (body.rows.length ? "" : "no per-item values for these two");
      this.root.dataset.item = item;
      this.root.dataset.left = this.left;
      this.root.dataset.right = this.right;
    }

    frames() { return [this.panes[0].frame, this.panes[1].frame, this.sliderFrame]; }
    imgs() { return [this.panes[0].img, this.panes[1].img, this.under, this.over]; }

    applyView() {
      const { s, x, y } = this.view;
      for (const img of this.imgs()) img.style.transform = `translate(${x}px, ${y}px) scale(${s})`;
      this.root.classList.toggle("zoomed", s > 1.001);
    }

    applySplit() {
      this.over.style.clipPath = `inset(0 0 0 ${this.split}%)`;
      this.bar.style.left = `${this.split}%`;
      this.range.value = String(this.split);
    }

    zoom(f, cx, cy) {
      const frame = this.mode === "side" ? this.panes[0].frame : this.sliderFrame;
      const w = frame.clientWidth, h = frame.clientHeight;
      cx = cx === undefined ? w / 2 : cx;
      cy = cy === undefined ? h / 2 : cy;
      const s = Math.min(32, Math.max(1, this.view.s * f));
      const k = s / this.view.s;
      this.view = { s, x: cx - (cx - this.view.x) * k, y: cy - (cy - this.view.y) * k };
      this.clamp(w, h);
      this.applyView();
    }

    clamp(w, h) {
      const { s } = this.view;
      this.view.x = Math.min(0, Math.max(w - w * s, this.view.x));
      this.view.y = Math.min(0, Math.max(h - h * s, this.view.y));
    }

    reset() { this.view = { s: 1, x: 0, y: 0 }; this.applyView(); }

    interact(frame) {
      frame.addEventListener("wheel", (e) => {
        e.preventDefault();
        const r = frame.getBoundingClientRect();
        this.zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
      }, { passive: false });
      let drag = null;
      frame.addEventListener("pointerdown", (e) => {
        drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
        frame.setPointerCapture(e.pointerId);
      });
      frame.addEventListener("pointermove", (e) => {
        if (!drag) return;
        this.view.x = drag.vx + e.clientX - drag.x;
        this.view.y = drag.vy + e.clientY - drag.y;
        this.clamp(frame.clientWidth, frame.clientHeight);
        this.applyView();
      });
      const end = () => { drag = null; };
      frame.addEventListener("pointerup", end);
      frame.addEventListener("pointercancel", end);
    }

    step(d) {
      const n = this.spec.items.length;
      this.item = (this.item + d + n) % n;
      this.render();
    }

    cycle(side, d) {
      const n = this.sources.length;
      const i = this.sources.indexOf(this[side]);
      this[side] = this.sources[(i + d + n) % n];
      this.render();
    }

    toggleMode() {
      this.mode = this.mode === "side" ? "slider" : "side";
      this.side.hidden = this.mode !== "side";
      this.slider.hidden = this.mode === "side";
      this.modeBtn.textContent = this.mode === "side" ? "before/after slider" : "side by side";
      this.root.dataset.mode = this.mode;
      this.reset();
    }

    key(e) {
      if (e.target.tagName === "SELECT" || e.target.tagName === "INPUT") return;
      const acts = {
        ArrowLeft: () => this.step(-1), ArrowRight: () => this.step(1),
        ArrowUp: () => this.cycle("right", -1), ArrowDown: () => this.cycle("right", 1),
        "[": () => this.cycle("left", -1), "]": () => this.cycle("left", 1),
        s: () => this.toggleMode(), "+": () => this.zoom(1.5), "=": () => this.zoom(1.5), "-": () => this.zoom(1 / 1.5), 0: () => this.reset(),
      };
      const act = acts[e.key];
      if (act) { e.preventDefault(); act(); }
    }
  }

  for (const root of $$(".viewer[data-viewer]")) {
    const spec = data.viewers[Number(root.dataset.viewer)];
    if (spec) root.viewer = new Viewer(root, spec);
  }
  applyFilters();
  performance.mark("zoo-script-end");
  document.documentElement.dataset.ready = "1";
})();
