// The diagram: devices as boxes, their ports as loading docks, the sockets living at
// them as dots and connections as lines. One plain ES module.
//
// Rules:
// - Side by side where there is room; on a phone, one device above the other, drawn
//   at the box's own width (one user unit a CSS pixel), so no text shrinks below 12 px.
//   It is drawn again when the room it has changes (a phone turned, a window resized).
// - Its key says what each dot and line means, in the diagram's own classes.

import { svg } from "../dom.js";

// Side by side where there is room; on a phone, one device above the other, drawn
// at the box's own width (one user unit a CSS pixel), so no text shrinks below 12 px.
const NARROW = 520;

/** ctx: the mount ($, store). Returns {render(), stop()}: stop ends its resize watch. */
export function createDiagram(ctx) {
  const { $ } = ctx;
  const state = ctx.store.state;

  function renderDiagram() {
    const box = $("[data-diagram]");
    if (!box) return;
    const rows = [...state.sockets.values()];
    const ports = new Map(); // device -> sorted ports
    for (const d of state.devices) ports.set(d.name, new Set());
    for (const row of rows) ports.get(row.device)?.add(`${row.protocol}:${row.local.port}`);
    const vertical = box.clientWidth > 0 && box.clientWidth < NARROW;
    box.dataset.layout = vertical ? "vertical" : "across";
    const width = vertical ? Math.max(260, Math.floor(box.clientWidth)) : 640;
    // Where each device's box and docks go.
    const perRow = vertical ? Math.max(1, Math.floor((width - 40) / 84)) : 1;
    const dockRows = (n) => Math.max(1, Math.ceil(n / perRow));
    const boxes = [];
    let y = 20;
    const maxPorts = Math.max(1, ...[...ports.values()].map((p) => p.size));
    state.devices.forEach((device, index) => {
      if (vertical) {
        const h = 90 + dockRows(ports.get(device.name).size) * 64;
        boxes.push({ x: 10, y, w: width - 20, h });
        y += h + 30;
      } else {
        boxes.push({ x: index === 0 ? 40 : 380 + (index - 1) * 300, y: 20, w: 220, h: 70 + maxPorts * 70 });
      }
    });
    const height = vertical ? y - 10 : 110 + maxPorts * 70;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: `pg-diagram${vertical ? " pg-diagram-vertical" : ""}` });
    if (vertical) {
      root.setAttribute("width", width);
      root.setAttribute("height", height);
    }
    root.append(svg("title", {}, "Devices, their ports as loading docks, and the sockets living at them"));
    const where = new Map(); // socket id -> {x, y}
    state.devices.forEach((device, index) => {
      const { x, y: top, w, h } = boxes[index];
      const group = svg("g", { class: "device" });
      group.append(svg("rect", { x, y: top, width: w, height: h, rx: 12, class: "device-box" }));
      group.append(svg("text", { x: x + 12, y: top + 26, class: "device-name" }, `${device.name}`));
      group.append(svg("text", { x: x + 12, y: top + 44, class: "device-ip" }, device.ip));
      const list = [...ports.get(device.name)].sort();
      list.forEach((key, i) => {
        const [protocol, port] = key.split(":");
        let dockX;
        let dockY;
        if (vertical) {
          dockX = x + 12 + (i % perRow) * 84;
          dockY = top + 60 + Math.floor(i / perRow) * 64;
        } else {
          dockX = index === 0 ? x + w - 70 : x;
          dockY = 90 + i * 70;
        }
        group.append(svg("rect", { x: dockX, y: dockY, width: 72, height: 50, rx: 6, class: `dock dock-${protocol}` }));
        group.append(svg("text", { x: dockX + 36, y: dockY + 15, class: "dock-label", "text-anchor": "middle" }, `${protocol.toUpperCase()} ${port}`));
        const here = rows.filter((r) => r.device === device.name && `${r.protocol}:${r.local.port}` === key);
        here.forEach((row, j) => {
          const cx = dockX + 14 + (j % 4) * 14;
          const cy = dockY + 31 + Math.floor(j / 4) * 12;
          where.set(row.id, { x: cx, y: cy });
          const circle = svg("circle", { cx, cy, r: 6, class: `worker role-${row.role}${row.closed_by_program ? " lingering" : ""}` });
          circle.append(svg("title", {}, `${row.id}: ${row.role}, ${row.state}`));
          group.append(circle);
        });
      });
      if (!list.length) {
        // Two lines, so that it stays inside the device's box.
        const empty = svg("text", { x: x + 12, y: top + 72, class: "device-ip device-empty" });
        empty.append(svg("tspan", { x: x + 12 }, "no sockets:"));
        empty.append(svg("tspan", { x: x + 12, dy: 16 }, "every port is an empty dock"));
        group.append(empty);
      }
      root.append(group);
    });
    for (const row of rows) {
      if (!row.remote || row.role === "accepted") continue;
      const peer = rows.find((r) => r.remote && r.local.ip === row.remote.ip && r.local.port === row.remote.port
        && r.remote.ip === row.local.ip && r.remote.port === row.local.port);
      const a = where.get(row.id);
      const b = peer && where.get(peer.id);
      if (a && b) root.append(svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `link${row.closed_by_program || peer.closed_by_program ? " link-closing" : ""}` }));
    }
    box.replaceChildren(root, diagramLegend());
  }

  // What the diagram's dots and lines mean, drawn with the diagram's own classes.
  function diagramLegend() {
    const list = document.createElement("ul");
    list.className = "pg-legend";
    list.setAttribute("aria-label", "Key to the diagram");
    const entries = [
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker role-listener" }), "listening socket"],
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker role-client" }), "connected socket (client or accepted)"],
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker role-udp" }), "UDP socket"],
      [svg("circle", { cx: 8, cy: 8, r: 6, class: "worker lingering" }), "closed by the program, still kept by the kernel"],
      [svg("line", { x1: 0, y1: 8, x2: 16, y2: 8, class: "link" }), "connection"],
      [svg("line", { x1: 0, y1: 8, x2: 16, y2: 8, class: "link link-closing" }), "connection being closed"],
    ];
    for (const [shape, words] of entries) {
      const item = document.createElement("li");
      const picture = svg("svg", { viewBox: "0 0 16 16", width: "16", height: "16", class: "pg-diagram", "aria-hidden": "true", focusable: "false" });
      picture.append(shape);
      item.append(picture, ` ${words}`);
      list.append(item);
    }
    return list;
  }

  // The diagram is drawn again when the room it has changes (a phone turned, a window
  // resized).
  const diagramBox = $("[data-diagram]");
  let diagramWidth = 0;
  const resized = diagramBox && "ResizeObserver" in window ? new ResizeObserver(() => {
    const now = Math.floor(diagramBox.clientWidth);
    if (now === diagramWidth) return;
    diagramWidth = now;
    if (diagramBox.dataset.layout === "vertical" || now < NARROW) renderDiagram();
  }) : null;
  resized?.observe(diagramBox);

  return { render: renderDiagram, stop: () => resized?.disconnect() };
}
