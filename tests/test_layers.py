"""The planning layer stays free of torch: Snakemake imports it at start-up, on login nodes too."""

import pkgutil
import subprocess
import sys

import grokscape.planning

BLOCK_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not importable here")
sys.meta_path.insert(0, NoTorch())
"""


def test_planning_layer_imports_without_torch():
    modules = [f"grokscape.planning.{m.name}" for m in pkgutil.iter_modules(grokscape.planning.__path__)]
    assert "grokscape.planning.configuration" in modules
    imports = "".join(f"import {module}\n" for module in modules)
    result = subprocess.run([sys.executable, "-c", BLOCK_TORCH + imports], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_torch_block_itself_works():
    """The check above could pass vacuously if the block did not stop torch."""
    result = subprocess.run([sys.executable, "-c", BLOCK_TORCH + "import torch\n"], capture_output=True, text=True)
    assert result.returncode != 0 and "torch is not importable here" in result.stderr
