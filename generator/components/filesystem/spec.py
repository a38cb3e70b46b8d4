"""The file systems' spec: `file_systems:` in app.yaml (FileSystemSpec), their per-environment settings
(FileSystemEnv under `environments.<env>.file_systems.<name>`) and the rules, including those about
`services[].mounts`."""
import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints

from generator.components import stores
from generator.components.base import EnvInputs, Param
from generator.config.types import EnvironmentPart, Name, Strict
from generator.errors import Problem

if TYPE_CHECKING:
    from generator.config import AppSpec

PosixId = Annotated[int, Field(ge=0, le=4294967295)]
DirectoryPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,99}$")]


class FileSystemSpec(Strict):
    """One EFS file system: encrypted with its own KMS key, reachable from every zone, mounted by services through
    their own access points."""

    name: Name = Field(description="Lowercase name, unique across all data stores (e.g. `media`); services mount it "
                                   "with `services[].mounts`.")
    directory: DirectoryPath = Field(
        "/data", description="The directory every mounting service sees as the root of the volume (created on first "
                             "mount with `uid`, `gid` and mode 0750).")
    uid: PosixId = Field(1000, description="POSIX user id every file operation through an access point runs as.")
    gid: PosixId = Field(1000, description="POSIX group id every file operation through an access point runs as.")
    throughput_mode: Literal["elastic", "bursting"] = Field(
        "elastic", description="`elastic` (pay per use, scales with demand) or `bursting` (grows with the size "
                               "stored).")


class FileSystemEnv(Strict):
    """One file system's settings in one environment (`environments.<env>.file_systems.<name>`)."""

    backups: Annotated[bool | None, Param("automatic backups")] = Field(
        None, description="Daily AWS Backup of the file system (kept 35 days). Default: on in production.")


class FileSystemsEnv(EnvironmentPart):
    """An environment's file system settings (a field of `environments.<env>`)."""

    file_systems: dict[Name, FileSystemEnv] = Field(
        default_factory=dict, description="Per-file-system settings in this environment, keyed by name.")


def settings(app: "AppSpec", env: str, name: str) -> FileSystemEnv:
    spec = app.environments[env].file_systems.get(name) or FileSystemEnv()
    return spec.model_copy(update={"backups": app.environments[env].production if spec.backups is None
                                   else spec.backups})


def env_inputs(app: "AppSpec", fs: FileSystemSpec) -> EnvInputs[FileSystemEnv]:
    return stores.env_inputs(app, "file_systems", fs.name, FileSystemEnv, settings)


def mounting_services(app: "AppSpec", fs: str) -> list[str]:
    """The services that mount a file system, in app.yaml order (each gets its own access point)."""
    return [svc.name for svc in app.services if any(m.file_system == fs for m in svc.mounts)]


def file_system_settings_name_file_systems(app: "AppSpec") -> Iterator[Problem]:
    """`environments.<env>.file_systems` names file systems of the app."""
    yield from stores.settings_name_stores(app, "file_systems")


def mounts_name_file_systems(app: "AppSpec") -> Iterator[Problem]:
    """A service's `mounts` name file systems of the app, each at most once, at distinct paths."""
    names = [fs.name for fs in app.file_systems]
    for svc in app.services:
        seen_fs: set[str] = set()
        seen_paths: set[str] = set()
        for i, mount in enumerate(svc.mounts):
            loc = f"services.{svc.name}.mounts[{i}]"
            if mount.file_system not in names:
                other = stores.stores_of(app).get(mount.file_system)
                if other is not None:
                    hint = f"'{mount.file_system}' is a {stores.KINDS.get(other, other)}, not a file system; " \
                           "attach it with `uses`"
                else:
                    close = difflib.get_close_matches(mount.file_system, names, n=1, cutoff=0.6)
                    hint = f"did you mean '{close[0]}'?" if close else f"file_systems are: {', '.join(names) or 'none'}"
                    hint = f"no file system is called '{mount.file_system}'; {hint}"
                yield Problem(f"{loc}.file_system", hint)
            elif mount.file_system in seen_fs:
                yield Problem(f"{loc}.file_system", f"'{mount.file_system}' is already mounted by {svc.name}; mount "
                                                    "each file system once")
            if mount.path in seen_paths:
                yield Problem(f"{loc}.path", f"{mount.path} is already a mount point of {svc.name}; use another path")
            seen_fs.add(mount.file_system)
            seen_paths.add(mount.path)


RULES = (file_system_settings_name_file_systems, mounts_name_file_systems)
