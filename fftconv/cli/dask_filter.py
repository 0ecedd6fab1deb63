"""``fftconv filter --dask``: the same filter chunk by chunk on dask (threads here, or a
``dask.distributed`` cluster with ``--scheduler ADDRESS``), with zarr input and output besides
the formats of `imageio`.

On a cluster the workers read the input and write the output themselves, so both must be
zarr stores on a path every worker sees. The output is written beside the target and moved
into place only when complete, as `imageio.create_image` does for files.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path


def parse_chunks(text: str | None) -> object:
    """``--chunks``: one length for every axis, or one per axis (``512`` or ``1,512,512``).

    Examples
    --------
    >>> parse_chunks("256"), parse_chunks("1,512,512"), parse_chunks(None)
    (256, (1, 512, 512), 'auto')
    """
    if text is None:
        return "auto"
    try:
        lengths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--chunks: expected a length or lengths such as 512 or 1,512,512, "
                         f"got {text!r}") from None
    if any(n < 1 for n in lengths):
        raise ValueError(f"--chunks: lengths must be positive, got {text!r}")
    return lengths[0] if len(lengths) == 1 else lengths


def open_source(path: Path, chunks: object, on_cluster: bool, suggest):
    """The input as a dask array: a zarr store as it is chunked (rechunked if ``chunks`` is
    given), any other image file chunked from its memory map by ``chunks``, or when that is
    'auto' by ``suggest(shape, dtype)`` (`fftconv.dask.suggest_chunks` for the filter)."""
    import dask.array as da

    from .imageio import open_image

    if path.suffix.lower() == ".zarr":
        source = da.from_zarr(str(path))
        return source if chunks == "auto" else source.rechunk(chunks)
    if on_cluster:
        raise ValueError(f"{path}: with --scheduler the input must be a .zarr store the workers can read")
    image = open_image(path)
    return da.from_array(image, chunks=suggest(image.shape, image.dtype) if chunks == "auto" else chunks)


def write(result, target: Path, client, progress: bool) -> None:
    """Compute ``result`` into ``target`` (zarr, or a file of `imageio`), showing dask's
    progress."""
    if target.suffix.lower() == ".zarr":
        partial = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", suffix=".partial.zarr", dir=target.parent))
        try:
            _run(result.to_zarr(str(partial), compute=False, overwrite=True), client, progress)
            if target.exists():
                shutil.rmtree(target)
            partial.rename(target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return
    if client is not None:
        raise ValueError(f"{target}: with --scheduler the output must be a .zarr store (the workers "
                         "write it)")
    import dask.array as da

    from .imageio import create_image

    with create_image(target, result.shape, result.dtype) as out:
        _run(da.store(result, out, lock=True, compute=False), None, progress)


def _run(task, client, progress: bool) -> None:
    if client is not None:
        future = client.compute(task)
        if progress:
            import distributed

            distributed.progress(future)
        future.result()
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar() if progress else contextlib.nullcontext():
        task.compute()


def client_for(address: str | None):
    """A ``dask.distributed`` client of the scheduler at ``address`` (None: dask's threads)."""
    if address is None:
        return contextlib.nullcontext(None)
    try:
        import distributed
    except ImportError:
        raise RuntimeError('--scheduler needs dask.distributed: pip install "fftconv[dask]"') from None
    return distributed.Client(address)
