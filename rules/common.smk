# Input functions and helpers. Rules stay declarative; everything computed from the config is here.
from pathlib import Path

from labelbench.config import check_references, training_device
from labelbench.datasets.build import DERIVED_SOURCES, LOCAL_SOURCES, REMOTE_SOURCES
from labelbench.datasets.real import remote_files
from labelbench.datasets.store import quarantine_if_corrupt
from snakemake.logging import logger

check_references(config)

RESULTS = config["results"]
# every rule's software, used with --sdm conda (relative to rules/); otherwise the environment snakemake runs in
SOFTWARE = "../workflow/envs/labelbench.yaml"
DATASETS = config["datasets"]
EXPERIMENTS = config["experiments"]
KERAS_EXPERIMENTS = [e for e, s in EXPERIMENTS.items() if s["framework"] == "keras"]
TORCH_EXPERIMENTS = [e for e, s in EXPERIMENTS.items() if s["framework"] == "torch"]


wildcard_constraints:
    dataset="|".join(DATASETS) or "no_dataset",
    experiment="|".join(EXPERIMENTS) or "no_experiment",
    variant="[a-z0-9_]+",
    seed="[0-9]+",


def data_dir(name):
    return f"{RESULTS}/data/{name}"


def sidecar(name):
    return f"{data_dir(name)}/dataset.json"


# A dataset file changed or damaged since it was written is not trusted: its sidecar is set aside so the
# dataset is rebuilt (and everything downstream rerun) instead of failing deep inside a training job.
for _name in DATASETS:
    _problem = quarantine_if_corrupt(data_dir(_name))
    if _problem:
        logger.warning(f"dataset {_name}: {_problem}")


def dataset_inputs(wildcards):
    """Upstream files (downloaded or under the user's `path:`), or the tile dataset of a mosaic."""
    spec = DATASETS[wildcards.dataset]
    source = spec["source"]
    if source in DERIVED_SOURCES:
        return [sidecar(spec[DERIVED_SOURCES[source]])]
    if source in LOCAL_SOURCES:
        return LOCAL_SOURCES[source](spec)
    if source not in REMOTE_SOURCES:
        return []
    files = remote_files(source, spec)
    if spec.get("path") and (source != "nuswide" or not files):
        if source == "nuswide":
            return []  # a local folder or archive, read directly by the build
        return [str(Path(spec["path"]) / name) for name in files]
    return [f"{RESULTS}/downloads/{wildcards.dataset}/{name}" for name in files]


def download_params(wildcards):
    spec = DATASETS[wildcards.dataset]
    url, md5 = remote_files(spec["source"], spec)[wildcards.filename]
    return {"url": url, "md5": md5}


def dataset_figures(name):
    return [f"{data_dir(name)}/figures/{kind}.png" for kind in ("samples", "labels")]


def experiment_dataset(wildcards):
    """The dataset of a run (a variant may name its own), or of the experiment's first variant."""
    spec = EXPERIMENTS[wildcards.experiment]
    variant = spec["variants"].get(getattr(wildcards, "variant", None), {})
    return sidecar(variant.get("dataset") or spec["dataset"])


def run_dirs(experiment):
    spec = EXPERIMENTS[experiment]
    return [
        f"{RESULTS}/{experiment}/{v}/{s}"
        for v in spec["variants"]
        for s in spec["seeds"]
    ]


def experiment_metrics(wildcards):
    return [f"{d}/metrics.parquet" for d in run_dirs(wildcards.experiment)]


def experiment_histories(wildcards):
    return [f"{d}/history.csv" for d in run_dirs(wildcards.experiment)]


def run_records():
    """Every training run's run.json (device and threads), for the report."""
    return [f"{d}/run.json" for exp in EXPERIMENTS for d in run_dirs(exp)]


def experiment_predictions(wildcards):
    return [f"{d}/predictions.parquet" for d in run_dirs(wildcards.experiment)]


def model_file(experiment):
    return (
        "model.pt" if EXPERIMENTS[experiment]["framework"] == "torch" else "model.keras"
    )


def experiment_models(wildcards):
    return [
        f"{d}/{model_file(wildcards.experiment)}"
        for d in run_dirs(wildcards.experiment)
    ]


def gradcam_pair(wildcards):
    """Ordinary and compared complementary model of the first seed, for the Grad-CAM grids."""
    spec = EXPERIMENTS[wildcards.experiment]
    seed = spec["seeds"][0]
    other = spec["gradcam"].get("compare", "pc_sigmoid")
    return [
        f"{RESULTS}/{wildcards.experiment}/{v}/{seed}/model.keras"
        for v in ("ordinary", other)
    ]


def gradcam_study_models(wildcards):
    """Every seed's model of the variants trained on the experiment's own dataset."""
    spec = EXPERIMENTS[wildcards.experiment]
    return [
        f"{RESULTS}/{wildcards.experiment}/{v}/{s}/model.keras"
        for v, vs in spec["variants"].items()
        if not vs.get("dataset")
        for s in spec["seeds"]
    ]


def gradcam_model(wildcards):
    """The model whose maps are drawn: the first variant's first seed."""
    return f"{run_dirs(wildcards.experiment)[0]}/{model_file(wildcards.experiment)}"


def train_params(wildcards):
    spec = EXPERIMENTS[wildcards.experiment]
    return {
        "experiment": wildcards.experiment,
        "variant": wildcards.variant,
        "seed": int(wildcards.seed),
        "model_spec": spec["model"],
        "training": spec["training"],
        "variant_spec": spec["variants"][wildcards.variant],
        # the job computes with these, whatever Snakemake's `threads` (lowered to --cores when smaller) says
        "device": training_device(config, wildcards.experiment),
        "threads": spec["training"]["threads"],
    }


def eval_params(wildcards):
    spec = EXPERIMENTS[wildcards.experiment]
    return {
        "experiment": wildcards.experiment,
        "variant": wildcards.variant,
        "seed": int(wildcards.seed),
        "threshold": spec["threshold"],
    }


def train_threads(wildcards):
    """Cores a training job is scheduled on (its configured threads)."""
    return EXPERIMENTS[wildcards.experiment]["training"]["threads"]


def gpus(experiment):
    """Units of the `gpu` resource a job of `experiment` claims: 1 on device gpu, 0 on cpu.

    So CPU jobs run side by side under `--resources gpu=1`, and on SLURM go to a partition without GPUs.
    """
    return int(training_device(config, experiment) == "gpu")


def train_gpus(wildcards):
    return gpus(wildcards.experiment)


def landmark_speed_threads(wildcards):
    return EXPERIMENTS["landmark"]["training"]["threads"]


def landmark_speed_gpus(wildcards):
    return gpus("landmark")


def landmark_speed_settings(wildcards):
    """The landmark runs' own model, input size, batch, device and threads."""
    spec = EXPERIMENTS["landmark"]
    size = DATASETS[spec["dataset"]].get("size", 32)
    batch = spec["training"]["batch_size"]
    return dict(
        size=size,
        batch=batch,
        steps=40,
        rounds=5,
        model_spec=spec["model"],
        device=training_device(config, "landmark"),
        threads=spec["training"]["threads"],
    )


def speed_files():
    return [f"{RESULTS}/landmark/speed.json"] if "landmark" in EXPERIMENTS else []


def experiment_figures(experiment):
    kinds = {
        "mosaic": ["curves", "metrics", "examples"],
        "masked": ["curves", "metrics", "confusion", "class_counts"],
        "landmark": ["curves", "metrics", "examples", "kp_error"],
        "tagging": ["curves", "metrics", "tag_frequency", "examples", "per_tag_f1"],
        "complementary": ["curves", "metrics", "confusion"],
    }.get(experiment, ["curves", "metrics"])
    if experiment == "complementary":
        kinds += [
            f"gradcam_{d}_{w}"
            for d in EXPERIMENTS[experiment]["gradcam"]["layers"]
            for w in ("correct", "misclassified")
        ]
    if experiment == "tagging":
        kinds += [
            f"gradcam_{i}" for i in range(EXPERIMENTS[experiment]["gradcam"]["images"])
        ]
    return [f"{RESULTS}/{experiment}/figures/{k}.png" for k in kinds]


def experiment_tables(experiment):
    """Tables beyond summary.csv."""
    if experiment == "tagging":
        return [
            f"{RESULTS}/{experiment}/{t}.csv"
            for t in ("per_tag", "gradcam_localisation")
        ]
    if experiment == "complementary":
        return [f"{RESULTS}/{experiment}/gradcam_metrics.csv"]
    return []


def report_figures():
    figs = [f for name in DATASETS for f in dataset_figures(name)]
    return figs + [f for exp in EXPERIMENTS for f in experiment_figures(exp)]


def report_tables():
    return [t for exp in EXPERIMENTS for t in experiment_tables(exp)]


def all_targets():
    targets = []
    for name in DATASETS:
        targets.append(sidecar(name))
        targets += dataset_figures(name)
    for exp in EXPERIMENTS:
        targets.append(f"{RESULTS}/{exp}/summary.csv")
        targets += experiment_figures(exp)
        targets += experiment_tables(exp)
        targets.append(f"{RESULTS}/notebooks/{exp}.html")
    targets += speed_files()
    targets += [f"{RESULTS}/report/index.html", f"{RESULTS}/report/claims.csv"]
    return targets


def dataset_spec(wildcards):
    return DATASETS[wildcards.dataset]
