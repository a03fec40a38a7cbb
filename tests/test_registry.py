"""Entry-point discovery: unknown names, conflicts and plugins that fail to load."""
import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from bpgan_core.errors import PluginConflictError, PluginLoadError, UnknownPluginError
from bpgan_core.registry import Registry


def fake_distribution(root: Path, dist: str, group: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """Install a minimal distribution (dist-info with entry points) under ``root``."""
    root = root / dist
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()


@pytest.fixture
def site(tmp_path):
    """A folder for fake distributions; each is put on sys.path once written, and removed after."""
    saved = list(sys.path)
    yield tmp_path
    sys.path[:] = saved
    for name in [m for m in sys.modules if m.startswith("fakeplug")]:
        del sys.modules[name]


def test_installed_plugins_are_found(site):
    fake_distribution(site, "fakeplug-good", "bpgan.test_group", {"good": "fakeplug_good:Thing"},
                      {"fakeplug_good": "class Thing: pass"})
    reg = Registry("thing", "bpgan.test_group")
    assert reg.names() == ["good"]
    assert reg.get("good").__name__ == "Thing"
    assert reg.source("good") == "fakeplug-good 1.0"


def test_get_imports_only_the_plugin_asked_for(site):
    fake_distribution(site, "fakeplug-pair", "bpgan.test_group",
                      {"one": "fakeplug_one:Thing", "two": "fakeplug_two:Thing"},
                      {"fakeplug_one": "class Thing: pass", "fakeplug_two": "class Thing: pass"})
    reg = Registry("thing", "bpgan.test_group")
    assert reg.get("one").__module__ == "fakeplug_one"
    assert "fakeplug_two" not in sys.modules
    assert reg.names() == ["one", "two"]
    assert "fakeplug_two" in sys.modules


def test_unknown_name_lists_installed(site):
    fake_distribution(site, "fakeplug-good", "bpgan.test_group", {"good": "fakeplug_good:Thing"},
                      {"fakeplug_good": "class Thing: pass"})
    with pytest.raises(UnknownPluginError, match="installed: good"):
        Registry("thing", "bpgan.test_group").get("other")


def test_broken_plugin_is_reported_not_dropped(site):
    fake_distribution(site, "fakeplug-bad", "bpgan.test_group", {"bad": "fakeplug_bad:Thing"},
                      {"fakeplug_bad": "raise RuntimeError('boom at import')"})
    reg = Registry("thing", "bpgan.test_group")
    assert "boom at import" in reg.failures()["bad"]
    with pytest.raises(PluginLoadError, match="boom at import"):
        reg.get("bad")


def test_conflicting_plugins_raise(site):
    fake_distribution(site, "fakeplug-a", "bpgan.test_group", {"dup": "fakeplug_a:Thing"},
                      {"fakeplug_a": "class Thing: pass"})
    fake_distribution(site, "fakeplug-b", "bpgan.test_group", {"dup": "fakeplug_b:Thing"},
                      {"fakeplug_b": "class Thing: pass"})
    reg = Registry("thing", "bpgan.test_group")
    assert reg.names() == ["dup"]  # listed, so that `bpgan plugins` shows it, but never imported
    assert "fakeplug_a" not in sys.modules and "fakeplug_b" not in sys.modules
    assert reg.conflicts() == {"dup": ["fakeplug_a:Thing", "fakeplug_b:Thing"]}
    with pytest.raises(PluginConflictError, match="fakeplug_a:Thing, fakeplug_b:Thing"):
        reg.get("dup")


def test_in_process_registration_refuses_to_shadow():
    reg = Registry("thing", "bpgan.test_group_empty")
    reg.register("x", int)
    with pytest.raises(PluginConflictError):
        reg.register("x", float)
    reg.register("x", float, replace=True)
    assert reg.get("x") is float
    reg.unregister("x")
    with pytest.raises(UnknownPluginError, match="installed: none"):
        reg.get("x")


def test_first_party_plugins_are_registered():
    from bpgan_core import registry

    assert {"scalar", "uniform"} <= set(registry.quantizers.names())
    assert {"range", "elias-gamma"} <= set(registry.entropy_coders.names())
    assert {"image", "speech"} <= set(registry.modalities.names())


def test_cli_lists_conflicting_modalities_without_importing_them(site, capsys):
    from bpgan_core import registry
    from bpgan_core.cli import main

    for dist, module in (("fakeplug-a", "fakeplug_a"), ("fakeplug-b", "fakeplug_b")):
        fake_distribution(site, dist, registry.GROUPS["modality"], {"dupmod": f"{module}:Thing"},
                          {module: "class Thing: pass"})
    registry.modalities.refresh()
    try:
        assert main(["plugins"]) == 0
    finally:
        registry.modalities.refresh()
    out = capsys.readouterr().out
    assert "dupmod         CONFLICT: provided by fakeplug_a:Thing, fakeplug_b:Thing" in out
    assert "image" in out and "fakeplug_a" not in sys.modules
