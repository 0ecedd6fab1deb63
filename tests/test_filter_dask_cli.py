"""``fftconv filter --dask``: the same filter chunk by chunk on dask, with zarr stores, on
threads and on a dask.distributed scheduler by address; one-line errors for what cannot work."""

import numpy as np
import pytest
from conftest import assert_close

da = pytest.importorskip("dask.array")  # the `dask` extra; `.[test]` installs it
zarr = pytest.importorskip("zarr")

import fftconv.ndimage  # noqa: E402
from fftconv import kernels  # noqa: E402
from fftconv.cli import main  # noqa: E402


@pytest.fixture
def image(rng, tmp_path):
    x = rng.standard_normal((120, 90)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    da.from_array(x, chunks=(50, 40)).to_zarr(str(tmp_path / "in.zarr"))
    return x


def want(x, mode="reflect"):
    return fftconv.ndimage.convolve(x, kernels.from_spec("gaussian:sigma=2", 2), mode=mode)


@pytest.mark.parametrize("source, target", [("in.npy", "out.npy"), ("in.npy", "out.zarr"),
                                            ("in.zarr", "out.npy"), ("in.zarr", "out.zarr")])
def test_every_pair_of_formats(image, tmp_path, capsys, source, target):
    code = main(["filter", str(tmp_path / source), str(tmp_path / target), "--kernel", "gaussian:sigma=2",
                 "--dask", "--chunks", "32,48", "--mode", "wrap", "--no-progress"])
    assert code == 0 and "on dask (threads" in capsys.readouterr().out
    path = tmp_path / target
    got = np.load(path) if target.endswith(".npy") else da.from_zarr(str(path)).compute()
    assert_close(got, want(image, "wrap"), ulps=500)
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]  # nothing left beside it


def test_progress_comes_from_dask(image, tmp_path, capsys):
    assert main(["filter", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"), "--kernel", "box:5",
                 "--dask"]) == 0
    assert "Completed" in capsys.readouterr().out  # dask's progress bar


def test_on_a_scheduler_by_address(image, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        code = main(["filter", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"), "--kernel",
                     "gaussian:sigma=2", "--scheduler", cluster.scheduler_address, "--no-progress"])
    assert code == 0
    assert_close(da.from_zarr(str(tmp_path / "out.zarr")).compute(), want(image), ulps=500)


@pytest.mark.parametrize("args, message", [
    (["in.npy", "out.zarr"], "filtered with --dask"),
    (["in.zarr", "out.npy", "--dask", "--chunks", "0"], "must be positive"),
    (["in.zarr", "out.npy", "--dask", "--chunks", "a"], "expected a length"),
])
def test_one_line_errors(image, tmp_path, capsys, args, message):
    args = [str(tmp_path / a) if a.startswith(("in.", "out.")) else a for a in args]
    assert main(["filter", *args, "--kernel", "box:3"]) != 0
    assert message in capsys.readouterr().err


def test_files_are_chunked_for_the_fft_by_default(image, tmp_path, capsys):
    code = main(["filter", str(tmp_path / "in.npy"), str(tmp_path / "out.npy"), "--kernel", "box:7",
                 "--dask", "--no-progress"])
    assert code == 0 and "chunks (120, 90)" in capsys.readouterr().out  # small: one chunk
    assert_close(np.load(tmp_path / "out.npy"),
                 fftconv.ndimage.convolve(image, kernels.from_spec("box:7", 2)), ulps=500)


def test_bench_dask_suite_runs_on_a_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    import json

    code = main(["bench", "--suite", "dask", "--size", "256", "--chunk", "96", "--kernels", "5",
                 "--workers", "1", "--json", str(tmp_path / "d.json")])
    assert code == 0 and "fftconv.dask" in capsys.readouterr().out
    row = json.loads((tmp_path / "d.json").read_text())["rows"][0]
    assert row["max_rel_diff_vs_in_memory"]["fftconv.dask"] < 1e-5 and row["fftconv_dask_s"] > 0


def test_bench_dask_suite_refuses_what_it_cannot_write(tmp_path, capsys):
    assert main(["bench", "--suite", "dask", "--csv", str(tmp_path / "x.csv")]) == 2
    assert "--json only" in capsys.readouterr().err
