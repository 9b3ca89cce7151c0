import h5py
import numpy as np
import pytest

from grokscape.errors import DamagedFileError
from grokscape.storage import atomic_write, open_h5, read_table, write_table


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.h5"
    write_table(target, {"x": np.arange(3)})
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("killed mid-write")
    assert np.array_equal(read_table(target)["x"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["table.h5"]


def test_tables_carry_checksums_and_truncation_is_named(tmp_path):
    target = tmp_path / "table.h5"
    write_table(target, {"x": np.arange(100.0)})
    with h5py.File(target) as handle:
        assert handle["x"].fletcher32
    target.write_bytes(target.read_bytes()[:500])
    with pytest.raises(DamagedFileError, match=f"{target} is damaged .*--forcerun {target}"):
        read_table(target)


def test_an_error_of_the_callers_own_code_is_not_called_damage(tmp_path):
    """Only h5py failing to read a file names it damaged: a bug of the reader passes as what it is."""
    target = tmp_path / "table.h5"
    write_table(target, {"x": np.arange(3)})
    with pytest.raises(ValueError, match="the reader's own bug"), open_h5(target) as handle:
        handle["x"][()]
        raise ValueError("the reader's own bug")
    with pytest.raises(DamagedFileError, match="KeyError"), open_h5(target) as handle:
        handle["no such dataset"]  # h5py's own lookup fails: the file lacks what it should hold
    with pytest.raises(DamagedFileError, match=r"datasets \['y'\] missing"):
        read_table(target, ["x", "y"])
