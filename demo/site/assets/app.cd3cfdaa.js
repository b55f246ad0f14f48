// Harbor board: the Wharf demo app.
//
// A small, real single-page app that shows what the edge does for a browser. It renders a live
// arrivals board for an imaginary harbour, computes tide levels and cargo totals in a tiny
// WebAssembly module (harbor.wasm, loaded with instantiateStreaming when the server sends
// `application/wasm`, falling back to instantiate otherwise), and lists every resource the page
// loaded with its transfer size, so you can see the precompressed variants and cache hits.

const WASM_URL = new URL("./harbor.45807f3e.wasm", import.meta.url);

/** Ships expected at the harbour. `eta` is in minutes after the board's start time. */
const SHIPS = [
  { name: "Aurora Borealis", flag: "NO", cargo: 1840, kind: "container", eta: 3, berth: "A1" },
  { name: "Baltic Trader", flag: "DE", cargo: 920, kind: "bulk", eta: 7, berth: "B2" },
  { name: "Cape Finisterre", flag: "ES", cargo: 2310, kind: "container", eta: 12, berth: "A2" },
  { name: "Dunmore Star", flag: "IE", cargo: 410, kind: "ferry", eta: 15, berth: "F1" },
  { name: "Elbe Courier", flag: "DE", cargo: 1275, kind: "container", eta: 21, berth: "A1" },
  { name: "Fjordlys", flag: "NO", cargo: 330, kind: "ferry", eta: 24, berth: "F2" },
  { name: "Gulf Stream", flag: "US", cargo: 2980, kind: "tanker", eta: 30, berth: "T1" },
  { name: "Hanseatic Pride", flag: "DE", cargo: 1650, kind: "bulk", eta: 36, berth: "B1" },
  { name: "Isla Bonita", flag: "PT", cargo: 760, kind: "reefer", eta: 41, berth: "R1" },
  { name: "Jade Horizon", flag: "SG", cargo: 3420, kind: "container", eta: 47, berth: "A3" },
  { name: "Kittiwake", flag: "GB", cargo: 215, kind: "ferry", eta: 52, berth: "F1" },
  { name: "Lady of Lorient", flag: "FR", cargo: 880, kind: "reefer", eta: 58, berth: "R2" },
  { name: "Maersk Meridian", flag: "DK", cargo: 4100, kind: "container", eta: 66, berth: "A2" },
  { name: "Nordkapp", flag: "NO", cargo: 1190, kind: "bulk", eta: 73, berth: "B2" },
  { name: "Oceanic Dawn", flag: "NL", cargo: 2760, kind: "tanker", eta: 81, berth: "T2" },
  { name: "Port Said Spirit", flag: "EG", cargo: 1430, kind: "bulk", eta: 88, berth: "B1" },
  { name: "Queen of Skagen", flag: "DK", cargo: 390, kind: "ferry", eta: 94, berth: "F2" },
  { name: "Rio Tejo", flag: "PT", cargo: 1020, kind: "reefer", eta: 101, berth: "R1" },
  { name: "Sea Lantern", flag: "GB", cargo: 1980, kind: "container", eta: 109, berth: "A3" },
  { name: "Tallinn Express", flag: "EE", cargo: 470, kind: "ferry", eta: 116, berth: "F1" },
  { name: "Ursa Minor", flag: "FI", cargo: 2240, kind: "tanker", eta: 124, berth: "T1" },
  { name: "Vega Carrier", flag: "SE", cargo: 1560, kind: "container", eta: 131, berth: "A1" },
  { name: "Westerlies", flag: "NL", cargo: 690, kind: "reefer", eta: 139, berth: "R2" },
  { name: "Ystad Runner", flag: "SE", cargo: 305, kind: "ferry", eta: 146, berth: "F2" },
  { name: "Zeebrugge Light", flag: "BE", cargo: 1875, kind: "bulk", eta: 154, berth: "B2" },
];

/** How long each kind of ship stays at its berth, in minutes. */
const DWELL = { container: 26, bulk: 34, tanker: 40, reefer: 18, ferry: 9 };

/** One simulated minute passes every `SPEED_MS` real milliseconds. */
const SPEED_MS = 1000;

const state = {
  minute: 0,
  filter: "",
  kind: "all",
  paused: false,
  wasm: null,
  wasmMode: "loading",
};

// ---------------------------------------------------------------------------------------------
// WebAssembly: tide(minute) and add(a, b) from harbor.wasm, with a JavaScript stand-in while the
// module loads (or if a very old browser cannot run it).
// ---------------------------------------------------------------------------------------------

const fallbackWasm = {
  add: (a, b) => (a + b) | 0,
  tide: (minute) => {
    const m = minute % 720;
    return Math.floor((m > 360 ? 720 - m : m) / 18) + 30;
  },
};

async function loadWasm() {
  if (typeof WebAssembly !== "object") {
    state.wasmMode = "unavailable (JavaScript fallback)";
    return fallbackWasm;
  }
  try {
    if (WebAssembly.instantiateStreaming) {
      // Streaming compiles while bytes arrive; it needs Content-Type: application/wasm.
      const { instance } = await WebAssembly.instantiateStreaming(fetch(WASM_URL));
      state.wasmMode = "instantiateStreaming";
      return instance.exports;
    }
  } catch (error) {
    console.warn("instantiateStreaming failed, retrying with instantiate:", error);
  }
  const response = await fetch(WASM_URL);
  const bytes = await response.arrayBuffer();
  const { instance } = await WebAssembly.instantiate(bytes);
  state.wasmMode = "instantiate";
  return instance.exports;
}

function wasm() {
  return state.wasm || fallbackWasm;
}

// ---------------------------------------------------------------------------------------------
// Model: where each ship is at a given minute.
// ---------------------------------------------------------------------------------------------

function statusAt(ship, minute) {
  const arrives = ship.eta;
  const leaves = ship.eta + DWELL[ship.kind];
  if (minute < arrives - 5) return { label: "at sea", order: 2, css: "sea" };
  if (minute < arrives) return { label: "docking", order: 1, css: "docking" };
  if (minute < leaves) return { label: "berthed", order: 0, css: "berthed" };
  return { label: "departed", order: 3, css: "departed" };
}

function visibleShips() {
  const needle = state.filter.trim().toLowerCase();
  return SHIPS.filter((ship) => {
    if (state.kind !== "all" && ship.kind !== state.kind) return false;
    if (!needle) return true;
    return (
      ship.name.toLowerCase().includes(needle) ||
      ship.flag.toLowerCase() === needle ||
      ship.berth.toLowerCase() === needle
    );
  })
    .map((ship) => ({ ship, status: statusAt(ship, state.minute) }))
    .sort((a, b) => a.status.order - b.status.order || a.ship.eta - b.ship.eta);
}

/** Total tonnes of cargo currently berthed, summed by the wasm `add`. */
function berthedCargo() {
  let total = 0;
  for (const ship of SHIPS) {
    if (statusAt(ship, state.minute).label === "berthed") total = wasm().add(total, ship.cargo);
  }
  return total;
}

function cargoByBerth() {
  const totals = new Map();
  for (const ship of SHIPS) {
    if (statusAt(ship, state.minute).label !== "berthed") continue;
    totals.set(ship.berth, wasm().add(totals.get(ship.berth) || 0, ship.cargo));
  }
  return [...totals.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

// ---------------------------------------------------------------------------------------------
// View helpers
// ---------------------------------------------------------------------------------------------

const $ = (selector) => document.querySelector(selector);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clockText(minute) {
  const start = 6 * 60; // the board opens at 06:00
  const total = (start + minute) % (24 * 60);
  const hh = String(Math.floor(total / 60)).padStart(2, "0");
  const mm = String(total % 60).padStart(2, "0");
  return `${hh}:${mm}`;
}

function formatTonnes(value) {
  return `${value.toLocaleString("en-GB")} t`;
}

function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes <= 0) return "–";
  if (bytes < 1024) return `${bytes} B`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

function renderBoard() {
  const body = $("#board tbody");
  const rows = visibleShips().map(({ ship, status }) =>
    element(
      "tr",
      { class: status.css },
      element("td", { class: "time" }, clockText(ship.eta)),
      element("td", {}, ship.name),
      element("td", { class: "flag" }, ship.flag),
      element("td", {}, ship.kind),
      element("td", { class: "num" }, formatTonnes(ship.cargo)),
      element("td", { class: "berth" }, ship.berth),
      element("td", {}, element("span", { class: `pill ${status.css}` }, status.label)),
    ),
  );
  body.replaceChildren(...rows);
  $("#count").textContent = `${rows.length} of ${SHIPS.length} ships`;
}

function renderTide() {
  const level = wasm().tide(state.minute + 6 * 60);
  const next = wasm().tide(state.minute + 6 * 60 + 30);
  const arrow = next > level ? "rising" : next < level ? "falling" : "slack";
  $("#tide-level").textContent = `${(level / 10).toFixed(1)} m`;
  $("#tide-trend").textContent = arrow;
  $("#tide-bar").style.setProperty("--level", `${((level - 30) / 20) * 100}%`);
}

function renderCargo() {
  $("#cargo-total").textContent = formatTonnes(berthedCargo());
  const chart = $("#cargo-chart");
  const entries = cargoByBerth();
  const max = Math.max(1, ...entries.map(([, value]) => value));
  const width = 320;
  const barHeight = 18;
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(1, entries.length) * (barHeight + 6)}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Cargo berthed per berth");
  entries.forEach(([berth, value], index) => {
    const y = index * (barHeight + 6);
    const label = document.createElementNS(svgNS, "text");
    label.setAttribute("x", "0");
    label.setAttribute("y", String(y + barHeight - 4));
    label.textContent = berth;
    const bar = document.createElementNS(svgNS, "rect");
    bar.setAttribute("x", "34");
    bar.setAttribute("y", String(y));
    bar.setAttribute("height", String(barHeight));
    bar.setAttribute("width", String(((width - 110) * value) / max));
    bar.setAttribute("rx", "3");
    const amount = document.createElementNS(svgNS, "text");
    amount.setAttribute("x", String(40 + ((width - 110) * value) / max));
    amount.setAttribute("y", String(y + barHeight - 4));
    amount.textContent = formatTonnes(value);
    svg.append(label, bar, amount);
  });
  if (entries.length === 0) {
    const empty = document.createElementNS(svgNS, "text");
    empty.setAttribute("x", "0");
    empty.setAttribute("y", "14");
    empty.textContent = "No ships berthed";
    svg.append(empty);
  }
  chart.replaceChildren(svg);
}

function renderClock() {
  $("#clock").textContent = clockText(state.minute);
  $("#pause").textContent = state.paused ? "Resume" : "Pause";
  $("#wasm-mode").textContent = state.wasmMode;
}

function render() {
  renderClock();
  renderBoard();
  renderTide();
  renderCargo();
}

// ---------------------------------------------------------------------------------------------
// Network panel: what the browser actually transferred for this page. With Wharf's
// precompressed variants, text resources arrive much smaller than their decoded size; on a
// reload, immutable hashed assets come from the cache with a transfer size of 0.
// ---------------------------------------------------------------------------------------------

function renderNetwork() {
  const entries = performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"));
  const rows = entries
    .filter((entry) => new URL(entry.name, location.href).origin === location.origin)
    .map((entry) => {
      const path = new URL(entry.name, location.href).pathname;
      const decoded = entry.decodedBodySize || 0;
      const encoded = entry.encodedBodySize || 0;
      const saved = decoded > 0 && encoded > 0 ? `${Math.round((1 - encoded / decoded) * 100)}%` : "–";
      const source = entry.transferSize === 0 && decoded > 0 ? "cache" : "network";
      return element(
        "tr",
        {},
        element("td", { class: "path" }, path),
        element("td", { class: "num" }, formatBytes(decoded)),
        element("td", { class: "num" }, formatBytes(encoded)),
        element("td", { class: "num" }, saved),
        element("td", {}, source),
        element("td", { class: "num" }, `${Math.round(entry.duration)} ms`),
      );
    });
  $("#network tbody").replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------

function bindControls() {
  $("#filter").addEventListener("input", (event) => {
    state.filter = event.target.value;
    renderBoard();
  });
  $("#kind").addEventListener("change", (event) => {
    state.kind = event.target.value;
    renderBoard();
  });
  $("#pause").addEventListener("click", () => {
    state.paused = !state.paused;
    renderClock();
  });
  $("#reset").addEventListener("click", () => {
    state.minute = 0;
    render();
  });
  $("#refresh-network").addEventListener("click", renderNetwork);
}

function tick() {
  if (!state.paused) {
    state.minute = (state.minute + 1) % (24 * 60);
    render();
  }
}

async function main() {
  bindControls();
  render();
  try {
    state.wasm = await loadWasm();
  } catch (error) {
    console.error("WebAssembly failed to load; using the JavaScript fallback", error);
    state.wasmMode = "failed (JavaScript fallback)";
  }
  render();
  renderNetwork();
  setInterval(tick, SPEED_MS);
  // Resource timings arrive after load; refresh the panel once they have settled.
  window.addEventListener("load", () => setTimeout(renderNetwork, 200));
}

main();
