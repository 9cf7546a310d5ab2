"""Reliability drills through Snakemake: killed jobs, killed downloads, corrupt caches, full disks, two runs at once,
and local GPU scheduling. Each drill asserts that nothing finished-looking is left wrong and nothing done is lost."""

import copy
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from archives import Handler, make_mnist
from conftest import ROOT, SNAKEMAKE, require_e2e, run_snakemake, snakemake_failure

from labelbench.datasets.download import md5sum
from labelbench.datasets.store import load_dataset
from labelbench.runs import ALLOW_CPU_FALLBACK

MASKED = {
    "datasets": {"digits": {"source": "digits", "size": 28}},
    "experiments": {"masked": {
        "dataset": "digits",
        "model": {"name": "mlp", "hidden": 64},
        "training": {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 32, "epochs": 25, "threads": 1},
        "variants": {"mask_odd": {"loss": "masked_cce", "mask": "odd"}},
        "seeds": [0],
    }},
}
RUN = "results/masked/mask_odd/0"


def _config(workdir: Path, cfg: dict) -> list[str]:
    """Arguments for a run on ``cfg``; targets go before them (``--resources`` takes every word after it)."""
    path = workdir / "drill.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return ["--configfile", str(path), "--cores", "2", "--resources", "gpu=1"]


def _start(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    require_e2e()
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def _wait(condition, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"snakemake ended before {what}:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _train_pids(workdir: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"{workdir}/.snakemake/scripts/.*train.py"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.e2e
def test_training_killed_mid_epoch_resumes_and_matches_an_uninterrupted_run(tmp_path):
    reference, drill = tmp_path / "reference", tmp_path / "drill"
    for wd in (reference, drill):
        wd.mkdir()
    run_snakemake(reference, f"{RUN}/metrics.csv", *_config(reference, MASKED))

    args = _config(drill, MASKED)
    proc = _start(drill, f"{RUN}/metrics.csv", *args)
    state = drill / RUN / "checkpoint/state.json"

    def trained_three_epochs():
        try:
            return json.loads(state.read_text())["epoch"] >= 3
        except (OSError, ValueError, KeyError):
            return False

    try:
        _wait(trained_three_epochs, 300, "three checkpointed epochs", proc)
    except AssertionError:
        _kill_group(proc)
        raise
    pids = _train_pids(drill)
    assert pids, "no training process found"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)  # as the OOM killer would: no chance to clean up
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, out[-2000:]
    assert not (drill / RUN / "model.keras").exists() and not (drill / RUN / "predictions.parquet").exists()
    killed_at = json.loads(state.read_text())["epoch"]
    assert 3 <= killed_at < 25

    run_snakemake(drill, f"{RUN}/metrics.csv", *args)
    log = (drill / "results/logs/train/masked/mask_odd/0.log").read_text()
    assert re.search(rf"resuming from .*checkpoint after epoch {killed_at}\b", log), log[-2000:]
    ours = pd.read_csv(drill / RUN / "metrics.csv")
    theirs = pd.read_csv(reference / RUN / "metrics.csv")
    pd.testing.assert_frame_equal(ours, theirs)  # exactly: same batches, same optimizer state
    history = pd.read_csv(drill / RUN / "history.csv")
    assert history["epoch"].tolist() == list(range(1, 26))


class _StallingHandler(Handler):
    """Serves half of a file and then hangs while ``server.stall`` is set (a transfer that never finishes)."""

    def do_GET(self):
        if self.server.stall.is_set():
            body = (Path(self.server.root) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.server.release.wait(60)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def stalling_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            lambda *a, **k: _StallingHandler(*a, directory=str(root), **k))
    httpd.root, httpd.stall, httpd.release = str(root), threading.Event(), threading.Event()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd, root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.e2e
def test_snakemake_killed_during_a_download_leaves_nothing_trusted(tmp_path, stalling_server):
    httpd, root, url = stalling_server
    sums = make_mnist(root)
    wd = tmp_path / "wd"
    wd.mkdir()
    args = _config(wd, {"datasets": {"mnist": {"source": "mnist", "mirror": url, "checksums": sums}},
                        "experiments": {}})
    httpd.stall.set()
    proc = _start(wd, "results/data/mnist/dataset.json", *args)
    downloads = wd / "results/downloads/mnist"
    try:
        partial = _wait(lambda: [p for p in downloads.glob(".*.part*") if p.stat().st_size > 0], 120,
                        "a partial download", proc)
    finally:
        _kill_group(proc)  # Snakemake and its job, at once
    # the interrupted transfer is under a temporary name only: nothing looks finished
    assert all(p.exists() for p in partial)
    finished = [p.name for p in downloads.iterdir() if not p.name.startswith(".")]
    assert len(finished) < len(sums)

    httpd.stall.clear()
    httpd.release.set()
    run_snakemake(wd, "--unlock", *args)
    run_snakemake(wd, "results/data/mnist/dataset.json", *args)
    assert {p.name: md5sum(p) for p in downloads.iterdir() if not p.name.startswith(".")} == sums
    assert not list(downloads.glob(".*.part*"))  # the rerun removed the killed transfer's leftovers
    assert load_dataset(wd / "results/data/mnist").images.shape[0] == 17


@pytest.mark.e2e
def test_a_corrupted_cached_dataset_is_noticed_and_rebuilt(tmp_path):
    args = _config(tmp_path, {"datasets": {"digits": {"source": "digits", "size": 28}}, "experiments": {}})
    target = "results/data/digits/dataset.json"
    run_snakemake(tmp_path, target, *args)
    images = tmp_path / "results/data/digits/images.npy"
    original = images.read_bytes()
    with open(images, "r+b") as f:  # flip bytes in the middle of the pixel data
        f.seek(len(original) // 2)
        f.write(b"\xff\x00\xff\x00")
    proc = run_snakemake(tmp_path, target, *args)
    out = proc.stdout + proc.stderr
    assert "images.npy does not match its sha256" in out and "will be rebuilt" in out
    assert "build_dataset" in out
    assert images.read_bytes() == original  # seeded: the rebuild is byte for byte the first build
    load_dataset(tmp_path / "results/data/digits")  # verifies every checksum
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(run_snakemake(tmp_path, target, "-n", *args))


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Name, size and modification time of everything under ``folder`` but Snakemake's own .snakemake/ (where
    Snakemake itself keeps an IO cache it rewrites on every call, dry runs included)."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")
            if ".snakemake" not in p.relative_to(folder).parts}


@pytest.mark.e2e
def test_a_dry_run_changes_no_file_even_with_a_damaged_dataset(tmp_path):
    args = _config(tmp_path, {"datasets": {"digits": {"source": "digits", "size": 28}}, "experiments": {}})
    run_snakemake(tmp_path, "results/data/digits/dataset.json", *args)
    with open(tmp_path / "results/data/digits/images.npy", "r+b") as f:
        f.seek(4096)
        f.write(b"\x01\x02")
    before = _tree(tmp_path)
    proc = run_snakemake(tmp_path, "-n", *args)
    out = proc.stdout + proc.stderr
    assert _tree(tmp_path) == before
    # the damage is acted on by jobs: a check (which hashes the files) and the rebuild, planned, not run
    assert re.search(r"rule check_dataset:\n\s+output: results/checks/data/digits/[0-9a-f]{16}\.txt", out), out[-3000:]
    assert "rule build_dataset:" in out and "rule dataset_figures:" in out


def _small_filesystem(path: Path) -> bool:
    path.mkdir(parents=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.e2e
def test_a_full_disk_fails_the_job_with_a_clear_message_and_no_finished_file(tmp_path):
    args = _config(tmp_path, {"datasets": {"digits": {"source": "digits", "size": 28}}, "experiments": {}})
    data = tmp_path / "results/data"
    mounted = _small_filesystem(data)  # a 256 kB file system: the 1.4 MB image array cannot fit
    try:
        if mounted:
            proc = run_snakemake(tmp_path, "results/data/digits/dataset.json", *args, check=False)
            expected = "No space left on device"
        else:  # no mount rights here: a file-size limit fails the write the same way (EFBIG)
            cmd = ["bash", "-c", 'ulimit -f 256 && exec "$@"', "_", SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"),
                   "--directory", str(tmp_path), "results/data/digits/dataset.json", *args]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            expected = "(File too large|[0-9]+ requested and [0-9]+ written)"
        log = (tmp_path / "results/logs/data/digits.log").read_text()
        assert proc.returncode != 0
        assert re.search(rf"cannot write \S*results/data/digits/images\.npy: {expected}", log), log[-1500:]
        leftovers = sorted(p.name for p in (data / "digits").iterdir()) if (data / "digits").exists() else []
        assert "dataset.json" not in leftovers and "images.npy" not in leftovers
        assert not [n for n in leftovers if ".part" in n]  # the temporary was removed too
        # what a test that expected success would print first (conftest.run_snakemake)
        named = snakemake_failure(proc.stdout, proc.stderr)
        assert named == "rule build_dataset failed; its log: results/logs/data/digits.log", proc.stdout + proc.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(data)], check=False)


@pytest.mark.e2e
def test_a_second_run_in_the_same_directory_is_refused_and_the_first_finishes(tmp_path):
    args = _config(tmp_path, MASKED)
    first = _start(tmp_path, f"{RUN}/metrics.csv", *args)
    try:
        _wait(lambda: list((tmp_path / ".snakemake/locks").glob("*")), 120, "the first run's lock", first)
    except AssertionError:
        _kill_group(first)
        raise
    second = run_snakemake(tmp_path, f"{RUN}/metrics.csv", *args, check=False)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    out = first.communicate(timeout=600)[0]
    assert first.returncode == 0, out[-3000:]
    assert len(pd.read_csv(tmp_path / RUN / "metrics.csv")) > 0
    proc = run_snakemake(tmp_path, f"{RUN}/metrics.csv", "-n", *args)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def job_intervals(log_text: str) -> pd.DataFrame:
    """Start and end time of every job in a Snakemake log (one-second resolution)."""
    starts, ends = {}, {}
    stamp = None
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", line)
        if m:
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            continue
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m and stamp:
            jobid = next(int(x.split(":")[1]) for x in lines[i + 1:i + 12] if x.strip().startswith("jobid:"))
            starts[jobid] = (m.group(1), stamp)
        m = re.match(r"^Finished jobid: (\d+)", line)
        if m and stamp:
            ends[int(m.group(1))] = stamp
    rows = [{"jobid": j, "rule": r, "start": s, "end": ends[j]} for j, (r, s) in starts.items() if j in ends]
    return pd.DataFrame(rows)


TRAIN_RULES = ["train_keras", "train_torch", "step_timing"]  # every rule whose gpu claim follows the device


def _overlap(a, b) -> bool:
    return a.start < b.end and b.start < a.end


def test_cpu_training_jobs_run_side_by_side(smoke_run):
    """The smoke config trains on device cpu: no job claims the one `gpu`, so --cores 2 runs two at once."""
    log = max((smoke_run / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_size)
    jobs = job_intervals(log.read_text())
    train = list(jobs[jobs["rule"].isin(TRAIN_RULES)].itertuples())
    assert len(train) >= 10
    assert any(a.jobid < b.jobid and _overlap(a, b) for a in train for b in train), "no two training jobs overlapped"


@pytest.mark.e2e
def test_gpu_jobs_never_overlap_while_other_jobs_run_beside_them(tmp_path):
    """device gpu: every training job claims the `gpu`, so --resources gpu=1 runs them one at a time while other
    jobs run beside them. On a machine without a GPU the jobs would stop; LABELBENCH_ALLOW_CPU_FALLBACK=1 lets them
    train on the CPU, with the warning (README: Where training runs)."""
    cfg = copy.deepcopy(MASKED)
    cfg["device"] = "gpu"
    masked = cfg["experiments"]["masked"]
    masked["training"]["epochs"] = 4
    masked["variants"]["no_mask"] = {"loss": "masked_cce", "mask": "none"}
    masked["seeds"] = [0, 1]
    # the dataset's figures are work that needs no GPU (since the training jobs evaluate their own runs, nothing
    # else of this small config could run beside them)
    proc = _start(tmp_path, "results/masked/summary.csv", "results/data/digits/figures/samples.png",
                  *_config(tmp_path, cfg), env={ALLOW_CPU_FALLBACK: "1"})
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    log = max((tmp_path / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_size)
    jobs = job_intervals(log.read_text())
    train = jobs[jobs["rule"].isin(TRAIN_RULES)].sort_values("start")
    assert len(train) == 4
    # with --resources gpu=1 each training job starts only once the previous one has finished
    assert (train["start"].to_numpy()[1:] >= train["end"].to_numpy()[:-1]).all(), train
    others = jobs[~jobs["rule"].isin([*TRAIN_RULES, "all"])]
    assert any(_overlap(o, t) for o in others.itertuples() for t in train.itertuples()), jobs
    train_log = (tmp_path / "results/logs/train/masked/no_mask/1.log").read_text()
    assert "device gpu was asked for, but TensorFlow" in train_log


def test_a_failure_names_the_failed_jobs_log_not_an_earlier_jobs():
    """Snakemake lists every job it starts with its log; the first line of a failed run (conftest.run_snakemake)
    names the log of the job in the error block (found by the Keras-on-torch smoke run, which named a dataset
    build's log for a failed Grad-CAM job)."""
    from conftest import snakemake_failure

    stdout = ("[Mon Dec  7 16:15:06 2026]\nlocalrule build_dataset:\n    output: results/data/shapes/dataset.json\n"
              "    log: results/logs/data/shapes.log\n    jobid: 3\n\n"
              "[Mon Dec  7 16:15:09 2026]\nrule gradcam_seed_table:\n"
              "    log: results/logs/gradcam/complementary/seed0.log\n"
              "    jobid: 9\n\n")
    stderr = ("[Mon Dec  7 16:15:40 2026]\nError in rule gradcam_seed_table:\n    message: None\n    jobid: 9\n"
              "    output: results/complementary/gradcam/seed0.parquet\n"
              "    log: results/logs/gradcam/complementary/seed0.log (check log file(s) for error details)\n\n"
              "Shutting down, this might take some time.\n")
    assert snakemake_failure(stdout, stderr) == ("rule gradcam_seed_table failed; its log: "
                                                 "results/logs/gradcam/complementary/seed0.log")
    assert snakemake_failure(stdout, "WorkflowError: no such rule") == (
        "no rule named (a workflow or configuration error)")
