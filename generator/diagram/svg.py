"""The architecture laid out and written as SVG, with no dependency (pure: Architecture in, text out).

Layout: the network stack as a band on top; then four columns, the way a request travels: the internet (and a CDN),
the load balancer with its listeners, the workloads (one box per nested service stack, coloured by kind, with the
paths that reach them), the data stores grouped by stack with who uses them; the pipeline's stages along the
bottom. Box sizes come from the text they hold (DejaVu Sans widths, which the renderers here use, rounded up);
everything is placed on a grid of whole pixels, so the same templates give the same bytes.
"""
from __future__ import annotations

from dataclasses import field
from xml.sax.saxutils import escape

from generator.diagram.model import Architecture, Store, Workload, summary
from generator.records import record

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
SIZE = 12                     # body text, px
LINE = 16                     # line height
PAD = 8                       # inside a box
GAP = 48                      # between columns
MARGIN = 20
KIND_COLOURS = {"web": ("#dbeafe", "#1d4ed8"), "worker": ("#dcfce7", "#15803d"), "cron": ("#ffedd5", "#c2410c")}
STORE_COLOURS = ("#f3e8ff", "#7e22ce")
NEUTRAL = ("#f8fafc", "#475569")
# Advance widths of DejaVu Sans in em, by class (each rounded up to the widest member); anything else counts as an
# upper-case letter. tests/test_tool_outputs.py checks the result against cairo's own measurement.
_WIDTHS = ((0.28, "ijl"), (0.32, " .,:;'|!"), (0.40, "frt()[]/-"), (0.53, "szc"),
           (0.64, "abdeghknopquvxy0123456789*_?<>=+#$"), (0.98, "mwMW@%"))
_EM = {ch: em for em, chars in _WIDTHS for ch in chars}


def text_width(text: str, size: float = SIZE, bold: bool = False) -> float:
    return sum(_EM.get(c, 0.78) for c in text) * size * (1.15 if bold else 1.0) * 1.05   # hinting rounds up


@record
class Box:
    title: str
    lines: list[str]
    colours: tuple[str, str] = NEUTRAL
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    frame: str = ""           # the stack file it belongs to, shown above it
    key: str = ""             # how edges name it

    def size(self, min_width: float = 0) -> None:
        self.w = max(min_width, text_width(self.title, SIZE + 1, bold=True),
                     *(text_width(line) for line in self.lines)) + 2 * PAD
        self.h = PAD + LINE + len(self.lines) * LINE + PAD


@record
class Canvas:
    parts: list[str] = field(default_factory=list)

    def rect(self, x, y, w, h, fill, stroke, dashed=False, radius=6):
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="{radius}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>')

    def text(self, x, y, value, size=SIZE, bold=False, colour="#0f172a", anchor="start"):
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}"{weight} fill="{colour}" '
                          f'text-anchor="{anchor}">{escape(value)}</text>')

    def arrow(self, x1, y1, x2, y2, colour="#64748b", dashed=False):
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        mid = (x1 + x2) / 2
        self.parts.append(f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
                          f'fill="none" stroke="{colour}" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>')

    def box(self, b: Box):
        fill, stroke = b.colours
        self.rect(b.x, b.y, b.w, b.h, fill, stroke)
        self.text(b.x + PAD, b.y + PAD + SIZE, b.title, size=SIZE + 1, bold=True, colour=stroke)
        for i, line in enumerate(b.lines):
            self.text(b.x + PAD, b.y + PAD + SIZE + LINE * (i + 1), line)


def render(arch: Architecture, source: str = "templates_out") -> str:
    c = Canvas()
    y = MARGIN
    title = (f"{arch.title}: the architecture in {source}/ (root.yaml and {len(arch.stacks)} nested stacks"
             f"{', and the pipeline' if arch.stages else ''})")
    c.text(MARGIN, y + 16, title, size=16, bold=True)
    y += 36

    # --- columns
    entry = [Box("Internet", ["clients"], NEUTRAL, key="internet")]
    entry += [Box("CloudFront", [f"distribution {d}"], NEUTRAL, key=f"cdn:{d}") for d in arch.cdn]
    lb_stack = next((f for f, types in arch.stacks.items() if types["AWS::ElasticLoadBalancingV2::LoadBalancer"]), "")
    balancer = []
    if arch.load_balancers:
        listeners = [f"{'/'.join(sorted(set(l.protocols)))} :{' or :'.join(l.ports)} ({l.logical_id})"
                     for l in arch.listeners]
        balancer.append(Box("Application Load Balancer", listeners, NEUTRAL, frame=lb_stack, key="lb"))
    if lb_stack and arch.stacks[lb_stack]["AWS::ECS::Cluster"]:
        providers = " and ".join(arch.capacity_providers) or "default capacity"
        balancer.append(Box("ECS cluster", [f"tasks on {providers}"], NEUTRAL, frame=lb_stack, key="cluster"))
    workloads = [_workload_box(w) for w in arch.workloads]
    stores = _store_boxes(arch.stores)
    shown = {lb_stack, *(w.stack for w in arch.workloads), *(s.stack for s in arch.stores), *arch.pipeline_files}
    network = next((f for f, types in arch.stacks.items() if types["AWS::EC2::VPC"] or types["AWS::EC2::FlowLog"]), "")
    others = [Box(f, summary(types) or ["(no resources)"], NEUTRAL, frame=f, key=f"stack:{f}")
              for f, types in arch.stacks.items() if f not in shown and f != network]
    columns = [entry, balancer, workloads, stores + others]

    top = y
    if network:
        band = Box(f"{network}: the network", [" · ".join(summary(arch.stacks[network]))], NEUTRAL)
        band.size()
        band.x, band.y = MARGIN, top
        top += band.h + 28
    x = MARGIN
    bottom = top
    for column in columns:
        if not column:
            continue
        width = max(text_width(b.frame, SIZE - 1) for b in column) if any(b.frame for b in column) else 0
        for b in column:
            b.size(min_width=width)
        width = max(b.w for b in column)
        cy, frame = top, None
        for b in column:
            if b.frame and b.frame != frame:
                c.text(x, cy + 11, b.frame, size=SIZE - 1, colour="#475569")
                cy += 16
            frame = b.frame
            b.x, b.y, b.w = x, cy, width
            cy += b.h + 14
        bottom = max(bottom, cy)
        x += width + GAP
    width = max(x - GAP + MARGIN, 640, text_width(title, 16, bold=True) + 2 * MARGIN)
    if network:
        band.w = width - 2 * MARGIN
        c.box(band)

    # --- edges, then boxes over them
    keyed = {b.key: b for column in columns for b in column}
    web = [b for b in workloads if b.key.startswith("web:")]
    chain = entry + balancer[:1]
    for a, b in zip(chain, chain[1:]):
        c.arrow(a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2)
    if "lb" in keyed:
        for b in web:
            c.arrow(keyed["lb"].x + keyed["lb"].w, keyed["lb"].y + keyed["lb"].h / 2, b.x, b.y + b.h / 2)
    users = {w.name: keyed[f"{w.kind}:{w.name}"] for w in arch.workloads}
    for box in stores:
        for user in box.key.split(":", 1)[1].split(","):
            source = users.get(user)
            if source is not None:
                c.arrow(source.x + source.w, source.y + source.h / 2, box.x, box.y + box.h / 2, dashed=True)
    for column in columns:
        for b in column:
            c.box(b)

    # --- the pipeline
    y = bottom + 10
    if arch.stages:
        c.text(MARGIN, y + 11, f"{arch.pipeline_files[0]}: the delivery pipeline (pipeline account), stage by stage",
               size=SIZE - 1, colour="#475569")
        y += 18
        boxes = [Box(s.name, _actions(s.actions), ("#fef9c3", "#a16207")) for s in arch.stages]
        for b in boxes:
            b.size()
        sx, row = MARGIN, []
        for i, b in enumerate(boxes):
            if sx + b.w > width - MARGIN and sx > MARGIN:
                y += max(r.h for r in row) + 20
                sx, row = MARGIN, []
            b.x, b.y = sx, y
            row.append(b)
            if i and boxes[i - 1].y == b.y:
                prev = boxes[i - 1]
                c.arrow(prev.x + prev.w, prev.y + 14, b.x, b.y + 14)
            sx += b.w + 28
        for b in boxes:
            c.box(b)
        y += max(r.h for r in row) + 10
    height = y + MARGIN
    legend = " · ".join(f"{kind}" for kind in KIND_COLOURS)
    c.text(width - MARGIN, height - 6, f"workloads by kind: {legend}; dashed: uses a data store", size=SIZE - 2,
           colour="#64748b", anchor="end")
    height += 8
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">\n'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>\n'
            f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>\n')
    return head + "\n".join(c.parts) + "\n</svg>\n"


def _workload_box(w: Workload) -> Box:
    lines = [{"web": "web service", "worker": "worker service", "cron": "scheduled task"}.get(w.kind, w.kind)]
    seen = set()
    for r in w.routes:
        what = ", ".join(r.paths + r.hosts)
        if what and what not in seen:
            seen.add(what)
            lines.append(f"routes {what} (priority {r.priority})")
    return Box(w.name, lines, KIND_COLOURS.get(w.kind, NEUTRAL), frame=w.stack, key=f"{w.kind}:{w.name}")


GROUP_NAMES = 5      # the names a box of several stores lists before `+N more`


def _store_boxes(stores: list[Store]) -> list[Box]:
    """One box per store; three or more of a kind in one stack share a box (e.g. one repository per service)."""
    groups: dict[tuple[str, str], list[Store]] = {}
    for s in stores:
        groups.setdefault((s.stack, s.kind), []).append(s)
    boxes = []
    for (stack, kind), members in sorted(groups.items()):
        if len(members) >= 3:
            users = sorted({u for s in members for u in s.users})
            plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
            names = sorted({s.name for s in members})
            title, lines = f"{len(members)} {plural}", [f"used by {', '.join(users)}" if users else "unused"]
            if len(names) == 1:                 # one store's parts, e.g. the database's instances
                title += f": {names[0]}"
            else:                               # one store each, e.g. a repository per service
                lines.insert(0, ", ".join(names[:GROUP_NAMES]) + (f", +{len(names) - GROUP_NAMES} more"
                                                                 if len(names) > GROUP_NAMES else ""))
            boxes.append(Box(title, lines, STORE_COLOURS, frame=stack, key=f"store:{','.join(users)}"))
            continue
        for s in members:
            boxes.append(Box(f"{kind}: {s.name}{f' ({s.engine})' if s.engine else ''}", [f"used by {', '.join(s.users)}" if s.users else "unused"],
                             STORE_COLOURS, frame=stack, key=f"store:{','.join(s.users)}"))
    return boxes


def _actions(actions: list[tuple[str, str]]) -> list[str]:
    """A stage's actions, the same provider counted once (`4 x CodeBuild: BuildWeb, BuildApi, ...`)."""
    by_provider: dict[str, list[str]] = {}
    for name, provider in actions:
        by_provider.setdefault(provider, []).append(name)
    lines = []
    for provider, names in by_provider.items():
        shown = ", ".join(names[:2]) + (", ..." if len(names) > 2 else "")
        lines.append(f"{len(names)} x {provider}: {shown}" if len(names) > 1 else f"{provider}: {names[0]}")
    return lines
