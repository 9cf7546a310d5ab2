# Input functions and helpers. Rules stay declarative; everything computed from the config is here.
from pathlib import Path

from labelbench.config import check_references, training_device
from labelbench.datasets.build import DERIVED_SOURCES, LOCAL_SOURCES, REMOTE_SOURCES
from labelbench.datasets.real import remote_files
from labelbench.datasets.store import dataset_change
from labelbench.registry_names import is_weights_file

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
    change="[a-z0-9_]+",


def data_dir(name):
    return f"{RESULTS}/data/{name}"


def sidecar(name):
    return f"{data_dir(name)}/dataset.json"


def dataset_folder(wildcards):
    return data_dir(wildcards.dataset)


def dataset_check(wildcards):
    """The check_dataset report a dataset's build waits for when its files' sizes or times no longer match its
    sidecar (compared here without writing anything; the job hashes them). A new change names a new report, so the
    build reruns and everything downstream with it; ancient(): the report's own age never triggers a rebuild.
    """
    change = dataset_change(data_dir(wildcards.dataset))
    return (
        [ancient(f"{RESULTS}/checks/data/{wildcards.dataset}/{change}.txt")]
        if change
        else []
    )


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


def variant_seeds(experiment, variant):
    """A variant's seeds: its own `seeds`, or the experiment's."""
    spec = EXPERIMENTS[experiment]
    return spec["variants"][variant].get("seeds", spec["seeds"])


def run_dirs(experiment):
    return [
        f"{RESULTS}/{experiment}/{v}/{s}"
        for v in EXPERIMENTS[experiment]["variants"]
        for s in variant_seeds(experiment, v)
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
    """Ordinary and compared complementary model of the first seed both ran, for the Grad-CAM grids."""
    spec = EXPERIMENTS[wildcards.experiment]
    other = spec["gradcam"].get("compare", "pc_sigmoid")
    exp = wildcards.experiment
    seed = next(
        s for s in variant_seeds(exp, "ordinary") if s in variant_seeds(exp, other)
    )
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
        for s in variant_seeds(wildcards.experiment, v)
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


def model_weights(wildcards):
    """The local state-dict file named by `model.weights`, an input of the training job (a torchvision weights
    name is fetched by the job itself)."""
    weights = EXPERIMENTS[wildcards.experiment]["model"].get("weights")
    return [weights] if is_weights_file(weights) else []


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


def speed_claim(experiment):
    """The experiment's first speed claim (its steps and rounds set the measurement), or None."""
    return next(
        (c for c in experiment_claims(experiment) if c["kind"] == "speed"), None
    )


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
    claim = speed_claim("landmark") or {}
    return dict(
        size=size,
        batch=batch,
        steps=claim.get("steps", 40),
        rounds=claim.get("rounds", 12),
        model_spec=spec["model"],
        device=training_device(config, "landmark"),
        threads=spec["training"]["threads"],
    )


def speed_files():
    return [f"{RESULTS}/landmark/speed.json"] if "landmark" in EXPERIMENTS else []


def experiment_claims(experiment):
    return EXPERIMENTS[experiment].get("claims", [])


def exact_claims(wildcards):
    return [c for c in experiment_claims(wildcards.experiment) if c["kind"] == "exact"]


def claim_inputs(wildcards):
    """What an experiment's claims are decided from: its per-run metrics, and where its claims need them the
    recomputed worked examples, the step timings and the per-image Grad-CAM table."""
    exp = wildcards.experiment
    claims = experiment_claims(exp)
    kinds = {c["kind"] for c in claims}
    inputs = {"metrics": f"{RESULTS}/{exp}/metrics.parquet"}
    if "exact" in kinds:
        inputs["examples"] = f"{RESULTS}/{exp}/worked_examples.json"
    if "speed" in kinds:
        inputs["timings"] = f"{RESULTS}/{exp}/speed.json"
    metrics = [
        side.get("metric", "")
        for c in claims
        for side in (c, c.get("a", {}), c.get("b", {}))
    ]
    if any(m.startswith("cam_") for m in metrics):
        inputs["cam"] = f"{RESULTS}/{exp}/gradcam_images.parquet"
    return inputs


def claims_files():
    return [f"{RESULTS}/{e}/claims.csv" for e in EXPERIMENTS]


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
        targets.append(f"{RESULTS}/{exp}/claims.csv")
        targets += experiment_figures(exp)
        targets += experiment_tables(exp)
        targets.append(f"{RESULTS}/notebooks/{exp}.html")
    targets += [f"{RESULTS}/report/index.html", f"{RESULTS}/report/claims.csv"]
    return targets


def dataset_spec(wildcards):
    return DATASETS[wildcards.dataset]
