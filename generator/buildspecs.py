"""CodeBuild buildspecs, rendered from the jinja2 sources in `buildspecs/*.yml.j2` (pure: context in, text out).

    from generator import buildspecs
    text = buildspecs.render("image", service="api", container_name="api", ...)

Every variable a template uses must be given (StrictUndefined) and no other may be (a typo is an error too); known
variables are checked (severity names, ports, path characters) before rendering, and the result must parse as a
YAML buildspec `version: 0.2`. Free text from app.yaml (test commands, runtime versions) is rendered with the `yaml`
filter, a double-quoted YAML scalar, so a quote or a newline in it stays inside its value; and the rendered buildspec
must have the same keys as the template rendered with placeholder text, so no value can add one. The app spec checks
these values first (generator/config): the checks here are a second line, never the first a user meets. Errors are
`BuildspecError("buildspecs/<file>: <message>")`, one line. The variables of each template are listed in
docs/pipeline-parts.md (a test keeps that list complete).
"""
from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from generator import image_tags
from generator.errors import GeneratorError, printable

if TYPE_CHECKING:
    import jinja2

BUILDSPEC_DIR = Path(__file__).resolve().parent.parent / "buildspecs"
SUFFIX = ".yml.j2"
# The thresholds scripts/scan_gate.py accepts for --fail-on (a test keeps both lists equal).
SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class BuildspecError(GeneratorError):
    """A buildspec cannot be rendered from the given context."""

    def __init__(self, filename: str, message: str):
        self.filename = filename
        self.message = printable(" ".join(message.split()))  # a YAML error spans lines; the report is one
        super().__init__(f"buildspecs/{filename}: {self.message}")


@functools.cache
def environment() -> jinja2.Environment:
    import jinja2   # here, not at the top: only an app with a pipeline renders buildspecs (jinja2 is 0.1 s to import)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(BUILDSPEC_DIR), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["sh"] = lambda value: shlex.quote(str(value))
    env.filters["yaml"] = yaml_quoted
    env.filters["image_tag_parameter"] = image_tags.parameter   # `api` -> `ApiImageTag`
    return env


_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def yaml_quoted(value: Any) -> str:
    """`value` as a double-quoted YAML scalar: quotes, backslashes, line breaks (including U+0085, U+2028, U+2029) and
    other control characters escaped; everything else as it is."""
    out = []
    for ch in str(value):
        code = ord(ch)
        if ch in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[ch])
        elif code < 0x20 or 0x7F <= code <= 0x9F or ch in "\u2028\u2029\ufeff":
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def names() -> list[str]:
    """The buildspec names (`image`, `self_update`, ...)."""
    return list(_names())


@functools.cache
def _names() -> tuple[str, ...]:
    # read once per process: the buildspec sources are part of the generator (a build renders each several times)
    return tuple(sorted(p.name[: -len(SUFFIX)] for p in BUILDSPEC_DIR.glob(f"*{SUFFIX}")))


def _filename(name: str) -> str:
    filename = name if name.endswith(SUFFIX) else name + SUFFIX
    if filename[: -len(SUFFIX)] not in names():
        raise BuildspecError(filename, f"no such buildspec (known: {', '.join(names())})")
    return filename


def variables(name: str) -> set[str]:
    """Every variable the template refers to (some only inside `{% if %}` branches)."""
    return set(_compiled(_filename(name))[1])


@functools.cache
def _compiled(filename: str) -> tuple[jinja2.Template, frozenset[str]]:
    """The template and the variables it refers to, from one parse of its source (read once per process, as
    _names(): the buildspec sources are part of the generator). `get_template` parsed it again to compile it: a
    third of rendering the buildspecs. The code and variables come from generator/buildspec_cache.py when an earlier
    process compiled exactly this source with exactly this environment (jinja2's parse and code generation were
    about 30 ms of CPU for the ten buildspecs). Compiled from the same tree with the same name, file name and globals as
    `get_template` does (jinja2's BaseLoader.load, `Environment.compile` step for step), so it renders the same text;
    the variables are collected by the same code generation (jinja2.meta.find_undeclared_variables ran a second one,
    a third of the compiling: tests/test_buildspecs.py compares the two)."""
    import jinja2

    from generator import buildspec_cache

    env = environment()
    source, path, _ = env.loader.get_source(env, filename)
    made_from = buildspec_cache.key(env, filename, path, source, _module_text())
    cached = buildspec_cache.load(filename, made_from)   # compiled by an earlier process from exactly this
    if cached is not None:
        code, variables = cached
    else:
        tree = env.parse(source, filename, path)
        try:
            generator = _tracking_generator()(env, filename, path, None, False, env.optimized)
            generator.visit(tree)
            code = env._compile(generator.stream.getvalue(), path if path is not None else "<template>")
        except jinja2.TemplateSyntaxError:
            env.handle_exception()
        variables = frozenset(generator.undeclared)
        buildspec_cache.store(filename, made_from, code, variables)
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return template, variables


@functools.cache
def _module_text() -> str:
    """This module's source: its code generator decides the variables, so a cached compilation keys on it."""
    return Path(__file__).read_text(encoding="utf-8")


@functools.cache
def _tracking_generator() -> type:
    """jinja2's code generator, also remembering every variable a frame resolves from the context that is not a
    global: what jinja2.meta's TrackingCodeGenerator (find_undeclared_variables) collects, in the same pass."""
    from jinja2.compiler import VAR_LOAD_RESOLVE, CodeGenerator

    class Tracking(CodeGenerator):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.undeclared: set[str] = set()

        def enter_frame(self, frame: Any) -> None:
            super().enter_frame(frame)
            for _, (action, param) in frame.symbols.loads.items():
                if action == VAR_LOAD_RESOLVE and param not in self.environment.globals:
                    self.undeclared.add(param)

    return Tracking


# --- checks of known context variables: each returns a problem or None --------------------------------------------
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")          # ECS container / service names
_PATH = re.compile(r"^[A-Za-z0-9_.${}/-]+$")                       # paths, possibly with $CODEBUILD_SRC_DIR_x
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")


def _name(v: Any) -> str | None:
    return None if isinstance(v, str) and _NAME.match(v) else "must be 1-255 letters, digits, '-' or '_'"


def _path(v: Any) -> str | None:
    return None if isinstance(v, str) and _PATH.match(v) else "must be a path of letters, digits, '_./-' or $VARS"


def _plain_path(v: Any) -> str | None:
    return None if isinstance(v, str) and _PLAIN_PATH.match(v) else "must be a relative path of letters, digits, '_./-'"


def _positive_int(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and v > 0 else "must be a positive whole number"


def _port(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535
    return None if ok else "must be a port number (1-65535)"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _severity(v: Any) -> str | None:
    return None if v in SEVERITIES else f"must be one of {', '.join(SEVERITIES)}"


def _python_version(v: Any) -> str | None:
    return None if isinstance(v, str) and re.match(r"^3\.\d+$", v) else "must be a string like '3.11'"


def _url_path(v: Any) -> str | None:
    return None if isinstance(v, str) and re.match(r"^/[A-Za-z0-9_./-]*$", v) else "must be a path starting with '/'"


def _command(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty shell command"


def _commands(v: Any) -> str | None:
    ok = isinstance(v, (list, tuple)) and all(isinstance(c, str) and c.strip() for c in v)
    return None if ok else "must be a list of shell commands"


def _runtimes(v: Any) -> str | None:
    ok = isinstance(v, dict) and all(isinstance(k, str) and re.match(r"^[a-z]+$", k) and
                                     isinstance(x, (str, int, float)) and not isinstance(x, bool)
                                     for k, x in v.items())
    return None if ok else "must map CodeBuild runtime names to versions, e.g. {'nodejs': '20'}"


def _services(v: Any) -> str | None:
    ok = isinstance(v, (list, tuple)) and v and all(_name(s) is None for s in v)
    return None if ok else "must be a non-empty list of service names"


_RELEASE_KEYS = {"service": _name, "container_name": _name, "container_port": _port, "artifact": _name}


def _releases(v: Any) -> str | None:
    ok = isinstance(v, (list, tuple)) and v and all(
        isinstance(r, dict) and set(r) == set(_RELEASE_KEYS) and all(_RELEASE_KEYS[k](r[k]) is None for k in r)
        for r in v)
    return None if ok else ("must be a non-empty list of {service, container_name, container_port, artifact} "
                            "(names of letters, digits, '-' or '_'; a port number)")


_SIDECAR_BUILD_KEYS = {"name": _name, "dockerfile": _plain_path, "context_dir": _plain_path}


def _sidecar_builds(v: Any) -> str | None:
    ok = isinstance(v, (list, tuple)) and all(
        isinstance(b, dict) and set(b) == set(_SIDECAR_BUILD_KEYS) and all(_SIDECAR_BUILD_KEYS[k](b[k]) is None
                                                                           for k in b) for b in v)
    return None if ok else "must be a list of {name, dockerfile, context_dir} (a name; relative paths)"


def _sidecar_tags(v: Any) -> str | None:
    ok = isinstance(v, dict) and all(_name(k) is None and isinstance(names, (list, tuple)) and names and
                                     all(_name(n) is None for n in names) for k, names in v.items())
    return None if ok else "must map service names to non-empty lists of sidecar names"


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "service": _name, "container_name": _name, "container_port": _port, "web": _bool, "fail_on": _severity,
    "scan_timeout": _positive_int, "dockerfile": _plain_path, "context_dir": _plain_path, "scripts_dir": _path,
    "python_version": _python_version, "s3_prefix": _plain_path, "test_command": _command,
    "install_commands": _commands, "runtime_versions": _runtimes, "reports_dir": _plain_path,
    "ready_path": _url_path, "ready_timeout": _positive_int, "services": _services, "releases": _releases,
    "template": _plain_path, "config": _plain_path, "output_dir": _plain_path, "build_command": _command,
    "sidecar_builds": _sidecar_builds, "sidecar_tags": _sidecar_tags,
}


def render(name: str, **context: Any) -> str:
    """The buildspec `name` (`image` or `image.yml.j2`) rendered with `context`; raises BuildspecError."""
    filename = _filename(name)
    template, known = _compiled(filename)
    unknown = sorted(set(context) - known)
    if unknown:
        raise BuildspecError(filename, f"unknown variable(s) {', '.join(unknown)} "
                                       f"(the template uses: {', '.join(sorted(known))})")
    for key, value in sorted(context.items()):
        problem = CHECKS[key](value) if key in CHECKS else None
        if problem:
            raise BuildspecError(filename, f"{key}: {problem} (got {value!r})")
    import jinja2   # imported by environment()
    try:
        text = template.render(**context)
    except jinja2.UndefinedError as exc:
        raise BuildspecError(filename, exc.message or str(exc)) from exc
    doc = _check_buildspec(filename, text)
    # The same template with every text value replaced by placeholder text: the keys must be the same.
    expected = _key_paths(_load(template.render(**_placeholders(context))))
    added = sorted(_key_paths(doc) - expected)
    if added:
        raise BuildspecError(filename, f"a value adds {', '.join(added)} to the buildspec; quote it with the yaml "
                                       "filter")
    return text


def _load(text: str) -> Any:
    """yaml.safe_load, with libyaml's parser when PyYAML has it (the pure-Python one took a third of a build's
    rendering); where libyaml refuses the text, PyYAML's own parser decides (and words the error)."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - the safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _check_buildspec(filename: str, text: str) -> dict:
    try:
        doc = _load(text)
    except yaml.YAMLError as exc:
        raise BuildspecError(filename, f"rendered text is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != 0.2:
        raise BuildspecError(filename, "rendered text is not a buildspec with `version: 0.2`")
    if not isinstance(doc.get("phases"), dict) or not doc["phases"]:
        raise BuildspecError(filename, "rendered buildspec has no phases")
    return doc


_INERT = re.compile(r"^[A-Za-z0-9_./-]*$")  # text that cannot start or end a YAML key wherever it is rendered


def _placeholders(value: Any) -> Any:
    """Each string that could carry YAML syntax replaced by "x" (names and paths stay: templates use some as keys);
    dict keys kept."""
    if isinstance(value, str):
        return value if _INERT.match(value) else "x"
    if isinstance(value, dict):
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_placeholders(v) for v in value]
    return value


def _key_paths(node: Any, prefix: str = "") -> set[str]:
    """Every mapping key in a document, as dotted paths (list items share their list's path)."""
    if isinstance(node, dict):
        return {f"{prefix}{k}" for k in node} | {p for k, v in node.items() for p in _key_paths(v, f"{prefix}{k}.")}
    if isinstance(node, list):
        return {p for item in node for p in _key_paths(item, prefix)}
    return set()
