"""The filesystem component: one encrypted EFS file system per `file_systems[]` entry, with a mount target in every
zone and one access point per service that mounts it."""
from generator.components.base import Component
from generator.components.filesystem.spec import RULES, FileSystemEnv, FileSystemsEnv, FileSystemSpec, env_inputs
from generator.components.filesystem.stack import FileSystemOutputs, build
from generator.components.filesystem.types import TYPES

COMPONENT = Component("filesystem", "one EFS file system", TYPES, RULES, spec_key="file_systems", spec=FileSystemSpec,
                      env=FileSystemsEnv, settings=(FileSystemEnv,))

__all__ = ["COMPONENT", "FileSystemEnv", "FileSystemOutputs", "FileSystemSpec", "FileSystemsEnv", "build",
           "env_inputs"]
