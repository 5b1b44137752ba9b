// Every node as one cell on a canvas, coloured by how much of its CPU or memory is allocated.
// A canvas, not DOM elements: 5,000 nodes redraw in a few milliseconds. Redraws are coalesced to
// one per animation frame.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Node } from '../../../shared/api/core.js';
import type { NodeAllocation } from '../../../shared/api/scheduling.js';
import { nodeHealth, percent, usage, type Resource } from '../cluster.js';

const GAP = 1;

/** Sequential scale, light (idle) to dark red (full): readable without relying on hue alone. */
export function heatColour(f: number): string {
  const t = Math.max(0, Math.min(1, f));
  const light = 92 - t * 60;
  const hue = 50 - t * 50;
  return `hsl(${hue} 85% ${light}%)`;
}

interface Layout {
  cell: number;
  cols: number;
}

function layout(n: number, width: number): Layout {
  // Largest cell (max 24 px) that fits n cells in width × ~0.6 width.
  const height = Math.max(200, width * 0.6);
  let cell = 24;
  while (cell > 3) {
    const cols = Math.floor(width / cell);
    if (cols > 0 && Math.ceil(n / cols) * cell <= height) break;
    cell--;
  }
  return { cell, cols: Math.max(1, Math.floor(width / cell)) };
}

export function HeatMap(props: {
  nodes: Node[];
  allocations: Map<string, NodeAllocation>;
  resource: Resource;
  version: number;
  onPick(node: string): void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(800);
  const [hover, setHover] = useState<string | undefined>();
  const { nodes, allocations, resource } = props;
  const lay = layout(nodes.length, width);
  const rows = Math.max(1, Math.ceil(nodes.length / lay.cols));

  useEffect(() => {
    const el = canvas.current?.parentElement;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const frame = requestAnimationFrame(() => {
      const dpr = window.devicePixelRatio || 1;
      const w = lay.cols * lay.cell;
      const h = rows * lay.cell;
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
      const ctx = c.getContext('2d');
      if (!ctx) return;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      const size = Math.max(1, lay.cell - GAP);
      nodes.forEach((n, i) => {
        const x = (i % lay.cols) * lay.cell;
        const y = Math.floor(i / lay.cols) * lay.cell;
        const health = nodeHealth(n);
        ctx.fillStyle = health === 'Ready' ? heatColour(usage(allocations.get(n.metadata.name ?? ''), resource)) : '#555';
        ctx.fillRect(x, y, size, size);
        if (n.spec.unschedulable && size >= 6) {
          // Cordoned: a diagonal stroke.
          ctx.strokeStyle = '#222';
          ctx.beginPath();
          ctx.moveTo(x, y + size);
          ctx.lineTo(x + size, y);
          ctx.stroke();
        }
      });
    });
    return () => cancelAnimationFrame(frame);
  }, [props.version, resource, width, nodes.length]);

  const at = (e: MouseEvent): Node | undefined => {
    const c = canvas.current;
    if (!c) return undefined;
    const r = c.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left) / lay.cell);
    const row = Math.floor((e.clientY - r.top) / lay.cell);
    if (col < 0 || col >= lay.cols) return undefined;
    return nodes[row * lay.cols + col];
  };
  const hovered = hover !== undefined ? nodes.find((n) => n.metadata.name === hover) : undefined;

  return (
    <div class="heatmap">
      <canvas
        ref={canvas}
        role="img"
        aria-label={`Heat map of ${nodes.length} nodes by ${resource} allocated; use the node list below to open one`}
        data-testid="heatmap"
        onMouseMove={(e) => setHover(at(e)?.metadata.name)}
        onMouseLeave={() => setHover(undefined)}
        onClick={(e) => {
          const n = at(e);
          if (n?.metadata.name) props.onPick(n.metadata.name);
        }}
      />
      <p class="hint" aria-live="off">
        {hovered
          ? `${hovered.metadata.name ?? ''}: ${nodeHealth(hovered)}, ${resource} ${percent(usage(allocations.get(hovered.metadata.name ?? ''), resource))} allocated`
          : 'Point at a node for its allocation; click it for its pods, taints and conditions. Grey: not Ready; stroke: cordoned.'}
      </p>
    </div>
  );
}
