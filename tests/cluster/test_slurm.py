"""The smoke pipeline on a real single-node SLURM through profiles/slurm (tests/cluster/run_slurm.sh): jobs on
device gpu in the gpu partition with one GPU, CPU training jobs in the cpu partition with their threads as CPUs.

The script installs slurm-wlm and munge when missing (root and apt needed), so the test runs wherever it may
install them or finds them installed; elsewhere it is skipped, and under CI=true it fails instead.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

SCRIPT = ROOT / "tests/cluster/run_slurm.sh"


def _can_run() -> str | None:
    if shutil.which("slurmctld") and shutil.which("munged"):
        return None if os.geteuid() == 0 else "the single-node cluster needs root (mknod, /etc/slurm)"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "slurm-wlm and munge are missing and cannot be installed here (root and apt-get needed)"
    return None


def test_smoke_pipeline_on_slurm_matches_the_local_run(smoke_run, tmp_path):
    why = _can_run()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    env = {**os.environ, "LABELBENCH_BIN": str(Path(sys.executable).parent)}
    proc = subprocess.run([str(SCRIPT), "--reference", str(smoke_run), str(tmp_path / "cluster")], env=env,
                          capture_output=True, text=True, timeout=2400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "training jobs on the two GPUs at once, at most: 2" in out
    assert re.search(r"\d+ jobs: [1-9]\d* on device gpu, [1-9]\d* training on device cpu", out), out[-3000:]
    assert "all checks passed" in out
    # every daemon it started is gone
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "cluster")], capture_output=True, text=True).stdout
    assert not left.strip(), left
