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
    """Named plugins of one entry-point group.

    Listing reads the installed metadata only; a plugin is imported when it is first asked for, so
    using one modality never imports the others. ``names()`` and ``failures()`` import every plugin
    of the group, since only an import shows whether a plugin loads.
    """

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._lock = threading.Lock()
        self._targets: dict[str, set[str]] | None = None
        self._sources: dict[str, str] = {}
        self._loaded: dict[str, Any] = {}
        self._failures: dict[str, str] = {}
        self._local: dict[str, Any] = {}

    def _listing(self) -> dict[str, set[str]]:
        """Installed names and their entry-point targets, read from metadata without importing anything."""
        with self._lock:
            if self._targets is None:
                targets: dict[str, set[str]] = {}
                for ep in importlib.metadata.entry_points(group=self.group):
                    targets.setdefault(ep.name, set()).add(ep.value)
                    self._sources.setdefault(ep.name, f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value)
                self._targets = targets
            return self._targets

    def _load(self, names: list[str]) -> None:
        """Import the named plugins not tried yet (through stevedore), recording each failure."""
        pending = [n for n in names if n not in self._loaded and n not in self._failures]
        if not pending:
            return
        from stevedore import ExtensionManager, NamedExtensionManager

        def on_failure(_manager: Any, entry_point: Any, exc: BaseException) -> None:
            self._failures[entry_point.name] = f"{entry_point.value}: {type(exc).__name__}: {exc}"

        with self._lock:
            ExtensionManager.ENTRY_POINT_CACHE.pop(self.group, None)  # see plugins installed since
            manager = NamedExtensionManager(
                self.group, pending, invoke_on_load=False, on_load_failure_callback=on_failure,
            )
            for ext in manager.extensions:
                self._loaded.setdefault(ext.name, ext.plugin)

    def _load_all(self) -> dict[str, set[str]]:
        """Import every installed plugin that no other claims; returns the listing."""
        listing = self._listing()
        self._load([n for n in listing if not self._conflict(n)])
        return listing

    def _conflict(self, name: str) -> list[str]:
        """The distinct targets installed under ``name`` when there are several, else []."""
        targets = self._listing().get(name, set())
        return sorted(targets) if len(targets) > 1 else []

    def names(self) -> list[str]:
        """Installed names that load (or that conflict, which ``get`` reports) and locally registered
        ones; imports every installed plugin."""
        listing = self._load_all()
        return sorted({n for n in listing if n in self._loaded or self._conflict(n)} | set(self._local))

    def failures(self) -> dict[str, str]:
        """Plugins of this group that failed to load, with their errors; imports every installed plugin."""
        self._load_all()
        return dict(self._failures)

    def conflicts(self) -> dict[str, list[str]]:
        """Names that several installed plugins provide, with their targets (none of them is imported)."""
        return {n: sorted(t) for n, t in self._listing().items() if len(t) > 1}

    def source(self, name: str) -> str:
        """Where a plugin comes from: a distribution name, or 'registered in process'."""
        self._listing()
        return "registered in process" if name in self._local else self._sources.get(name, "?")

    def get(self, name: str) -> Any:
        """The plugin object (usually a class) registered under ``name``; imports only that plugin."""
        if name in self._local:
            return self._local[name]
        conflict = self._conflict(name)
        if conflict:
            raise PluginConflictError(
                f"{self.kind} {name!r} is provided by several installed plugins ({', '.join(conflict)}); "
                "uninstall one of them"
            )
        if name in self._listing():
            self._load([name])
        if name in self._loaded:
            return self._loaded[name]
        if name in self._failures:
            raise PluginLoadError(f"{self.kind} plugin {name!r} failed to load: {self._failures[name]}")
        known = ", ".join(self.names()) or "none"
        raise UnknownPluginError(f"unknown {self.kind} {name!r}; installed: {known}")

    def register(self, name: str, obj: Any, *, replace: bool = False) -> None:
        """Register a plugin in this process (e.g. from a test); refuses to shadow without ``replace``."""
        if not replace and (name in self._local or name in self._listing()):
            raise PluginConflictError(f"{self.kind} {name!r} is already registered; pass replace=True to override")
        self._local[name] = obj

    def unregister(self, name: str) -> None:
        """Remove an in-process registration."""
        self._local.pop(name, None)

    def refresh(self) -> None:
        """Forget the listing and what was loaded, so newly installed plugins are seen."""
        with self._lock:
            self._targets = None
            self._sources, self._loaded, self._failures = {}, {}, {}


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
