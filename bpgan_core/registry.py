"""Plugin discovery through entry points (stevedore), with in-process registration for tests and scripts.

Conflict policy: two installed entry points that give one name different targets raise
PluginConflictError naming both; the same target installed twice (e.g. an editable install seen
twice on sys.path) counts once. ``register(..., replace=True)`` is the only way to override a name,
and only in the running process. A plugin that fails to import is recorded and reported by
``failures()`` and by ``get()``, never silently dropped.
"""
from __future__ import annotations

import importlib.metadata
import threading
from typing import Any

from .errors import PluginConflictError, PluginLoadError, UnknownPluginError

GROUPS = {
    "modality": "bpgan.modalities",
    "quantizer": "bpgan.quantizers",
    "entropy_coder": "bpgan.entropy_coders",
    "model_dirs": "bpgan.model_dirs",
    "bench_suite": "bpgan.bench_suites",
}


class Registry:
    """Named plugins of one entry-point group."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._lock = threading.Lock()
        self._installed: dict[str, Any] | None = None
        self._sources: dict[str, str] = {}
        self._failures: dict[str, str] = {}
        self._conflicts: dict[str, list[str]] = {}
        self._local: dict[str, Any] = {}

    def _scan(self) -> dict[str, Any]:
        with self._lock:
            if self._installed is None:
                from stevedore import ExtensionManager
                from stevedore.extension import error_on_conflict

                failures: dict[str, str] = {}
                ExtensionManager.ENTRY_POINT_CACHE.pop(self.group, None)  # see plugins installed since

                def on_failure(_manager: Any, entry_point: Any, exc: BaseException) -> None:
                    failures[entry_point.name] = f"{entry_point.value}: {type(exc).__name__}: {exc}"

                manager = ExtensionManager(
                    self.group, invoke_on_load=False, on_load_failure_callback=on_failure,
                    conflict_resolver=error_on_conflict,
                )
                installed: dict[str, Any] = {}
                targets: dict[str, set[str]] = {}
                dists = {(ep.name, ep.value): ep.dist for ep in importlib.metadata.entry_points(group=self.group)}
                for ext in manager.extensions:
                    targets.setdefault(ext.name, set()).add(ext.entry_point.value)
                    installed[ext.name] = ext.plugin
                    dist = dists.get((ext.name, ext.entry_point.value))
                    self._sources[ext.name] = f"{dist.name} {dist.version}" if dist else ext.entry_point.value
                self._conflicts = {n: sorted(t) for n, t in targets.items() if len(t) > 1}
                self._failures = failures
                self._installed = installed
            return self._installed

    def names(self) -> list[str]:
        """Names that can be loaded (installed and locally registered)."""
        return sorted(set(self._scan()) | set(self._local))

    def failures(self) -> dict[str, str]:
        """Plugins of this group that failed to load, with their errors."""
        self._scan()
        return dict(self._failures)

    def source(self, name: str) -> str:
        """Where a plugin comes from: a distribution name, or 'registered in process'."""
        self._scan()
        return "registered in process" if name in self._local else self._sources.get(name, "?")

    def get(self, name: str) -> Any:
        """The plugin object (usually a class) registered under ``name``."""
        if name in self._local:
            return self._local[name]
        installed = self._scan()
        if name in self._conflicts:
            raise PluginConflictError(
                f"{self.kind} {name!r} is provided by several installed plugins ({', '.join(self._conflicts[name])}); "
                "uninstall one of them"
            )
        if name in installed:
            return installed[name]
        if name in self._failures:
            raise PluginLoadError(f"{self.kind} plugin {name!r} failed to load: {self._failures[name]}")
        known = ", ".join(self.names()) or "none"
        raise UnknownPluginError(f"unknown {self.kind} {name!r}; installed: {known}")

    def register(self, name: str, obj: Any, *, replace: bool = False) -> None:
        """Register a plugin in this process (e.g. from a test); refuses to shadow without ``replace``."""
        if not replace and (name in self._local or name in self._scan()):
            raise PluginConflictError(f"{self.kind} {name!r} is already registered; pass replace=True to override")
        self._local[name] = obj

    def unregister(self, name: str) -> None:
        """Remove an in-process registration."""
        self._local.pop(name, None)

    def refresh(self) -> None:
        """Forget the scan so newly installed plugins are seen."""
        with self._lock:
            self._installed = None


modalities = Registry("modality", GROUPS["modality"])
quantizers = Registry("quantizer", GROUPS["quantizer"])
entropy_coders = Registry("entropy coder", GROUPS["entropy_coder"])
model_dirs = Registry("model directory provider", GROUPS["model_dirs"])
bench_suites = Registry("bench suite", GROUPS["bench_suite"])

_modality_instances: dict[str, Any] = {}


def get_modality(name: str) -> Any:
    """An instance of the modality registered under ``name``."""
    cls = modalities.get(name)
    inst = _modality_instances.get(name)
    if inst is None or type(inst) is not cls:
        try:
            inst = cls()
        except Exception as exc:
            raise PluginLoadError(f"modality plugin {name!r} could not be created: {exc}") from exc
        _modality_instances[name] = inst
    return inst
