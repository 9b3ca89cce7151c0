import pytest
import torch

from grokscape.errors import ConfigError
from grokscape.numerics.devices import resolve_device


def test_cuda_without_a_gpu_is_one_clear_configuration_error():
    assert resolve_device("cpu").type == "cpu"
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ConfigError, match="device: cuda was requested but no CUDA GPU is available"):
        resolve_device("cuda")
