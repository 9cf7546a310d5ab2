import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# torch before anything imports TensorFlow: the other order makes torch's optimizer step crash (DEVELOPERS.md). Only
# where a collected test module may load a framework (the hook below, run before a module is imported; every
# module is collected before any test runs): `pytest tests/test_stats.py` never pays for torch.
_FRAMEWORKS = re.compile(r"\b(torch|torchvision|tensorflow|keras|jax|labelbench\.(keras|pytorch))\b")


def _import_torch_first() -> None:
    try:
        import torch  # noqa: F401
        import torchvision.models  # noqa: F401  (pulls in torch._dynamo and triton, which crash once TF is loaded)
        import torchvision.ops  # noqa: F401
    except ImportError:  # pragma: no cover - a checkout without the ML stack can still run the data tests
        pass


def pytest_collectstart(collector):
    if (isinstance(collector, pytest.Module) and "torch" not in sys.modules
            and _FRAMEWORKS.search(collector.path.read_text(encoding="utf-8"))):
        _import_torch_first()


ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
# the test being run (pytest_runtest_protocol below): run_snakemake refuses to start Snakemake for a test that is not
# marked e2e, so that `make test-fast` (-m "not e2e") provably never starts it
_RUNNING: list[pytest.Item] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _RUNNING.append(item)
    try:
        return (yield)
    finally:
        _RUNNING.pop()


def pytest_collection_modifyitems(config, items):
    """Every test that reads the shared smoke run is end-to-end, whether or not it says so."""
    for item in items:
        if "smoke_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


def require_e2e() -> None:
    """Refuse to go on unless the running test is marked e2e: called wherever a test starts Snakemake."""
    if _RUNNING and _RUNNING[-1].get_closest_marker("e2e") is None:
        raise AssertionError(f"{_RUNNING[-1].nodeid} starts Snakemake: mark it @pytest.mark.e2e "
                             "(the fast tier, -m 'not e2e', must never start it)")


def snakemake_failure(stdout: str, stderr: str) -> str:
    """The rule and log file(s) Snakemake named for the first failed job, for the first line of a failure."""
    text = stdout + "\n" + stderr
    rule = re.search(r"Error in rule (\S+?):", text)
    if rule is None:
        return "no rule named (a workflow or configuration error)"
    # the failed job's own block: every job Snakemake starts lists its log too, so read only after the error
    block = text[rule.end():].split("\n\n", 1)[0]
    logs = re.search(r"^\s*log: (.+?)(?: \(check log file\(s\) for error details\))?$", block, re.M)
    return f"rule {rule.group(1)} failed" + (f"; its log: {logs.group(1)}" if logs else "")


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900, env: dict | None = None):
    """Run the project's Snakefile with ``workdir`` as working directory (``env``: variables to add). A failure's
    first line names the rule and log that failed. Only a test marked ``e2e`` may call it."""
    require_e2e()
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    # its own process group, so that a timeout stops the jobs too: subprocess.run's timeout kills Snakemake alone,
    # and the paper miniature's Grad-CAM job once ran on for 12 minutes after the test had failed
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          start_new_session=True) as popen:
        try:
            stdout, stderr = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            stdout, stderr = popen.communicate()
            started = re.findall(r"^(?:local)?rule (\w+):$", stdout + stderr, re.M)
            last = f"rule {started[-1]}" if started else "no job"
            raise AssertionError(f"snakemake ran past {timeout} s and was stopped with its jobs; the last started: "
                                 f"{last}\n{stdout[-4000:]}\n{stderr[-6000:]}") from None
        except BaseException:  # an interrupted test (Ctrl-C, a cancelled CI job): its own group gets no signal
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            raise
    proc = subprocess.CompletedProcess(cmd, popen.returncode, stdout, stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}): {snakemake_failure(proc.stdout, proc.stderr)}\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def startup_refusal(path: Path) -> str:
    """What the Snakefile's start-up checks (the config file read strictly, then labelbench.config.check_startup)
    say of the config file ``path``, in this process and without Snakemake: the first refusal's message."""
    import yaml

    from labelbench.config import check_startup
    from labelbench.config_check import check_config_files

    try:
        check_config_files([str(path)])
        check_startup(yaml.safe_load(path.read_text()), ROOT / "workflow/schemas/config.schema.yaml", ROOT)
    except Exception as err:  # ConfigError, or Snakemake's WorkflowError from the schema
        return str(err)
    raise AssertionError(f"{path} passed every start-up check")


@pytest.fixture
def workdir(tmp_path):
    """A working directory holding a copy of config.yaml (the Snakefile's default configfile)."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The whole smoke pipeline, run once per test session."""
    wd = tmp_path_factory.mktemp("smoke")
    shutil.copy(ROOT / "config.yaml", wd / "config.yaml")
    # two cores: training jobs run side by side; test_placement reruns it with --cores 1 and expects the same bytes
    run_snakemake(wd, "--configfile", str(ROOT / "configs/smoke.yaml"), "--cores", "2", "--resources", "gpu=1")
    return wd


def git_tracked(path: str) -> bool:
    return subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True).returncode == 0


def assert_rerun_at_another_setting_equals_a_clean_run(train_run, kill, outputs, data_dir, tmp_path, run, caplog):
    """A run killed after its first epoch's checkpoint at learning rate 0.0005 (``kill(out, run)``), then rerun at
    0.02: the log says the checkpoint was made with other settings, nothing is resumed, and history and predictions
    equal those of a run made at 0.02 alone (``train_run``: either framework's; ``outputs(folder)``: its
    RunOutputs)."""
    import pandas as pd

    old, new = ({**run, "training": {**run["training"], "epochs": 2, "learning_rate": lr}} for lr in (0.0005, 0.02))
    clean, rerun = tmp_path / "clean", tmp_path / "rerun"
    train_run(str(data_dir), outputs(clean), **new)
    kill(rerun, old)
    with caplog.at_level(logging.INFO, "labelbench"):
        train_run(str(data_dir), outputs(rerun), **new)
    assert (f"checkpoint {rerun / 'ckpt'} was made with other settings (training.learning_rate 0.0005 → 0.02): "
            "starting afresh") in caplog.text
    assert "resuming from" not in caplog.text
    assert (rerun / "history.csv").read_bytes() == (clean / "history.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(clean / "predictions.parquet"),
                                  pd.read_parquet(rerun / "predictions.parquet"), check_exact=True)
