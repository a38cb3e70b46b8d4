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
    for region in _regions(e):
        if not e.table.knows(region):
            names = ", ".join(env.name for env in e.environments if env.region == region)
            out.append(f"warning: the price table has no {region} prices: {names} priced at {BASE_REGION}'s (often "
                       f"lower than other Regions'): add the Region (docs/cost.md)")
        elif region != BASE_REGION:
            borrowed = sorted(key for where, key in e.prices_used if where == region
                              and not e.table.regional(region, key))
            if borrowed:
                out.append(f"note: {len(borrowed)} of the prices used in {region} are {BASE_REGION}'s (the table has "
                           f"no {region} entry for them; marked below)")
    out.append("")
    for env in e.environments:
        about = ", ".join([*(["production"] if env.production else []), *([env.region] if env.region != e.region
                                                                            else [])])
        out.append(f"{env.name} ({about})" if about else env.name)
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
    sources = set()
    for region in _regions(e):
        fallback = f"; a price without its own {region} entry is {BASE_REGION}'s" if region != BASE_REGION else ""
        out += ["", f"Prices used in {region} (generator/cost/prices.json{fallback}):"]
        for key in sorted(key for where, key in e.prices_used if where == region):
            entry = e.table.entry(region, key)
            where = region if e.table.regional(region, key) else f"{BASE_REGION} price"
            unsure = f"; unsure: {entry['unsure']}" if entry.get("unsure") else ""
            out.append(f"  - {key}: {entry['price']:g} per {entry['unit']} ({where}; source {entry['source']}{unsure})")
            sources.add(entry["source"])
    out += ["", "Sources:"]
    for name in sorted(sources):
        s = e.table.source(name)
        out.append(f"  - {name}: {s['url']} (read {s['read']}): {s['what']}")
    return "\n".join(out) + "\n"


def _regions(e: Estimate) -> list[str]:
    """The Regions the estimated environments run in: the app's first, then the others as they appear."""
    regions = [env.region for env in e.environments]
    return list(dict.fromkeys([*([e.region] if e.region in regions else []), *regions]))
