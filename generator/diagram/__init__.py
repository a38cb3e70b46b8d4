"""`fargate-stacks diagram`: the architecture drawn from the generated templates (model.py reads them, svg.py lays
them out and writes SVG with no dependency, draw.py writes the files and the PNG)."""
