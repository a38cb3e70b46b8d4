"""The estimate as text: per environment its lines and total, the off-hours saving apart, then the total, every
assumption and every price used with its source and date (golden-tested: tests/golden/cost/)."""
from __future__ import annotations

from generator.cost.estimate import NOT_INCLUDED, Estimate, assumption_lines
from generator.cost.prices import BASE_REGION

WIDTH = 78


def _row(label: str, amount: float) -> str:
    money = f"{amount:,.2f}"
    return f"  {label:<{WIDTH - len(money) - 4}}  {money}"


def text(e: Estimate) -> str:
    out = [f"Monthly cost estimate for {e.app} in {e.region} (USD, list prices read {e.table.read}, "
           f"{e.table.hours_per_month} hours a month)"]
    if e.region not in e.table.data["prices"]:
        out.append(f"warning: the price table has no {e.region} prices; {BASE_REGION}'s are used (often lower than "
                   f"other Regions'): add the Region (docs/cost.md)")
    out.append("")
    for env in e.environments:
        out.append(f"{env.name}{' (production)' if env.production else ''}")
        for group in ("compute", "network", "data", "observability"):
            for line in (line for line in env.lines if line.group == group):
                out.append(_row(line.what, line.monthly))
        out.append(_row("always on", env.always_on))
        if env.off_hours_note:
            out.append(_row("off-hours saving", -env.off_hours_saving))
            out.append(f"    ({env.off_hours_note})")
        out.append(_row(f"{env.name} total", env.total))
        if env.scaling_ceiling:
            out.append(f"  (autoscaling to every service's max_count would add up to {env.scaling_ceiling:,.2f})")
        for note in env.notes:
            out.append(f"  note: {note}")
        out.append("")
    saving = sum(env.off_hours_saving for env in e.environments)
    out.append(_row(f"all environments{f' (after {saving:,.2f} of off-hours savings)' if saving else ''}", e.total))
    out += ["", "Assumptions (docs/cost.md explains each; change them in generator/cost/estimate.py):"]
    out += [f"  - {line}" for line in assumption_lines()]
    out += ["  - tasks run at min_count (desired_count) around the clock, less the off-hours",
            "  - resources are counted by type in the templates (Conditions not evaluated), NAT gateways and "
            "interface endpoints by each environment's settings",
            "  - not included: " + "; ".join(NOT_INCLUDED)]
    out += ["", f"Prices used (generator/cost/prices.json; a price without its own {e.region} entry is "
                f"{BASE_REGION}'s):"]
    sources = set()
    for key in sorted(e.prices_used):
        entry = e.table.entry(e.region, key)
        where = e.region if e.table.regional(e.region, key) else f"{BASE_REGION} price"
        unsure = f"; unsure: {entry['unsure']}" if entry.get("unsure") else ""
        out.append(f"  - {key}: {entry['price']:g} per {entry['unit']} ({where}; source {entry['source']}{unsure})")
        sources.add(entry["source"])
    out += ["", "Sources:"]
    for name in sorted(sources):
        s = e.table.source(name)
        out.append(f"  - {name}: {s['url']} (read {s['read']}): {s['what']}")
    return "\n".join(out) + "\n"
