"""The same build on a Dask cluster (here a LocalCluster), through its concurrent.futures interface."""

import pytest
from click.testing import CliRunner

from derivbook.cli import main

distributed = pytest.importorskip("distributed")

SPEC = 'title = "Cluster"\nseed = 8\n[[problem]]\nderivation = "softmax-jacobian"\n[[problem]]\nderivation = "vector-norms"\n'


@pytest.fixture(scope="module")
def scheduler():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


def test_a_dask_build_equals_a_local_build(tmp_path, scheduler):
    (tmp_path / "s.toml").write_text(SPEC)
    common = ["build", str(tmp_path / "s.toml"), "--variants", "3", "--no-cache"]
    local = CliRunner().invoke(main, [*common, "--out", str(tmp_path / "local")])
    remote = CliRunner().invoke(main, [*common, "--executor", "dask", "--scheduler", scheduler, "--out", str(tmp_path / "dask")])
    assert local.exit_code == 0 and remote.exit_code == 0, local.output + remote.output
    names = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "dask").iterdir()) and "print-worksheets.pdf" in names
    for name in names:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


@pytest.mark.parametrize(
    "args, message",
    [
        (["--executor", "dask"], "--executor dask needs --scheduler ADDRESS"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
    ],
)
def test_executor_options_are_checked(tmp_path, args, message):
    (tmp_path / "s.toml").write_text(SPEC)
    result = CliRunner().invoke(main, ["build", str(tmp_path / "s.toml"), "--format", "json", "--no-cache", *args,
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.output


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC)
    result = CliRunner().invoke(main, ["build", str(tmp_path / "s.toml"), "--format", "json", "--no-cache",
                                       "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "cannot reach the Dask scheduler" in result.output
    assert not (tmp_path / "o").exists()
