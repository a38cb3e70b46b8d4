"""generator/pyyaml_speedups.py: PyYAML's Reader.NON_PRINTABLE, taken from `re`'s cache where the generator seeded it,
matches exactly what PyYAML's own pattern matches, every code point checked; a generation (and the lint helper's
import of cfn-lint) uses it; a process that never imports yaml compiles nothing."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from generator import pyyaml_speedups
from tests.support import ROOT

EVERY = "".join(map(chr, range(sys.maxunicode + 1)))


def test_the_seeded_pattern_finds_what_pyyaml_s_own_finds_at_every_code_point():
    source = (Path(yaml.__file__).parent / "reader.py").read_text(encoding="utf-8")
    literal = re.search(r"NON_PRINTABLE = re\.compile\(('[^']*')\)", source).group(1)
    assert eval(literal) == pyyaml_speedups.PYYAML_TEXT   # the key is PyYAML's text, character for character
    pyyaml = re._compiler.compile(pyyaml_speedups.PYYAML_TEXT, 0)   # compiled as PyYAML would, past the cache
    ours = re.compile(pyyaml_speedups.COMPLEMENT)
    assert [m.span() for m in ours.finditer(EVERY)] == [m.span() for m in pyyaml.finditer(EVERY)]
    assert ours.flags == pyyaml.flags
    # not vacuous: 29 C0 controls (all but tab, LF, CR), DEL, 31 C1 controls (all but NEL), 2,048 surrogates, U+FFFE/F
    assert len(ours.findall(EVERY)) == 2_111


PROBE = """
import json, re, sys
import generator
before = "yaml.reader" in sys.modules, (str, generator.pyyaml_speedups.PYYAML_TEXT, 0) in re._cache
import yaml.reader
seeded = yaml.reader.Reader.NON_PRINTABLE.pattern == generator.pyyaml_speedups.COMPLEMENT
print(json.dumps({"before": before, "seeded": seeded,
                  "hook": generator.pyyaml_speedups._BeforeReader in sys.meta_path}))
"""


def test_a_process_of_the_generator_uses_it_once_yaml_is_imported():
    out = json.loads(subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                                    check=True).stdout)
    assert out == {"before": [False, False], "seeded": True, "hook": False}


def test_a_generation_reads_app_yaml_with_it():
    code = ("import sys; from generator.config import load_app; load_app(sys.argv[1]); import yaml.reader, "
            "generator.pyyaml_speedups as s; print(yaml.reader.Reader.NON_PRINTABLE.pattern == s.COMPLEMENT)")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "app.yaml")], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "True"
