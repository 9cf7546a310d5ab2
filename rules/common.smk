# Input functions and helpers. Rules stay declarative; everything computed from the config is here.
from pathlib import Path

from labelbench.config import (
    experiment_config,
    keras_backend,
    training_priority,
    training_device,
)
from labelbench.experiments import get_experiment
from labelbench.datasets.build import user_path
from labelbench.datasets.manifest import path_manifest
from labelbench.datasets.sources import get_source
from labelbench.datasets.store import dataset_change
from labelbench.registry import is_weights_file

RESULTS = config["results"]
# every rule's software, used with --sdm conda (relative to rules/); otherwise the environment snakemake runs in
SOFTWARE = "../workflow/envs/labelbench.yaml"
DATASETS = config["datasets"]
EXPERIMENTS = config["experiments"]
KERAS_EXPERIMENTS = [e for e in EXPERIMENTS if get_experiment(e).framework == "keras"]
TORCH_EXPERIMENTS = [e for e in EXPERIMENTS if get_experiment(e).framework == "torch"]


def experiments_with(**declared):
    """Wildcard pattern of the config's experiments whose declarations have these values (rules that only some
    experiments have: Grad-CAM studies, tables, timings)."""
    names = [
        e
        for e in EXPERIMENTS
        if all(getattr(get_experiment(e), k) == v for k, v in declared.items())
    ]
    return "|".join(names) or "no_such_experiment"


def experiments_with_table(table):
    names = [e for e in EXPERIMENTS if table in get_experiment(e).tables]
    return "|".join(names) or "no_such_experiment"


def experiments_timed():
    names = [e for e in EXPERIMENTS if speed_claim(e)]
    return "|".join(names) or "no_such_experiment"


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
    """Upstream files (downloaded or under the user's `path:`), the user's watched files, or the sidecar of the
    dataset a derived one is built from: as its source declares them."""
    spec = DATASETS[wildcards.dataset]
    source = get_source(spec["source"])
    if source.built_from:
        return [sidecar(spec[source.built_from])]
    return source.inputs(spec, f"{RESULTS}/downloads/{wildcards.dataset}")


def download_params(wildcards):
    spec = DATASETS[wildcards.dataset]
    url, md5 = get_source(spec["source"]).remote_files(spec)[wildcards.filename]
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
        "model.pt" if get_experiment(experiment).framework == "torch" else "model.keras"
    )


def experiment_models(wildcards):
    return [
        f"{d}/{model_file(wildcards.experiment)}"
        for d in run_dirs(wildcards.experiment)
    ]


def gradcam_pair(wildcards):
    """Reference and compared model of the first seed both ran, for the Grad-CAM grids."""
    exp = wildcards.experiment
    gradcam = EXPERIMENTS[exp]["gradcam"]
    pair = (gradcam["reference"], gradcam["compare"])
    seed = next(
        s for s in variant_seeds(exp, pair[0]) if s in variant_seeds(exp, pair[1])
    )
    return {
        role: f"{RESULTS}/{exp}/{v}/{seed}/model.keras"
        for role, v in zip(("reference", "other"), pair)
    }


def gradcam_pair_names(wildcards):
    gradcam = EXPERIMENTS[wildcards.experiment]["gradcam"]
    return {"reference": gradcam["reference"], "other": gradcam["compare"]}


def gradcam_study_runs(wildcards):
    """(variant, seed) of every run trained on the experiment's own dataset, in the order of its models."""
    spec = EXPERIMENTS[wildcards.experiment]
    return [
        {"variant": v, "seed": s}
        for v, vs in spec["variants"].items()
        if not vs.get("dataset")
        for s in variant_seeds(wildcards.experiment, v)
    ]


def gradcam_seed_runs(wildcards):
    """(variant, model file) of one seed's runs on the experiment's own dataset: the reference's seeds each get a
    Grad-CAM table job of their own (rule gradcam_seed_table)."""
    exp, seed = wildcards.experiment, int(wildcards.seed)
    return [
        (run["variant"], f"{RESULTS}/{exp}/{run['variant']}/{seed}/model.keras")
        for run in gradcam_study_runs(wildcards)
        if run["seed"] == seed
    ]


def gradcam_seed_models(wildcards):
    return [path for _, path in gradcam_seed_runs(wildcards)]


def gradcam_seed_variants(wildcards):
    return [variant for variant, _ in gradcam_seed_runs(wildcards)]


def gradcam_seed_tables(wildcards):
    """The per-seed Grad-CAM tables, in the order of the reference variant's seeds."""
    exp = wildcards.experiment
    reference = EXPERIMENTS[exp]["gradcam"]["reference"]
    return [
        f"{RESULTS}/{exp}/gradcam/seed{s}.parquet"
        for s in variant_seeds(exp, reference)
    ]


def experiment_runs(wildcards):
    """(variant, seed) of every run of the experiment, in the order of run_dirs."""
    return [
        {"variant": v, "seed": s}
        for v in EXPERIMENTS[wildcards.experiment]["variants"]
        for s in variant_seeds(wildcards.experiment, v)
    ]


def gradcam_model(wildcards):
    """The model whose maps are drawn: the first variant's first seed."""
    return f"{run_dirs(wildcards.experiment)[0]}/{model_file(wildcards.experiment)}"


def train_params(wildcards):
    spec = EXPERIMENTS[wildcards.experiment]
    params = {
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
    if spec["framework"] == "keras":
        params["backend"] = keras_backend(
            config, wildcards.experiment, wildcards.variant
        )
    return params


def experiment_backend(wildcards):
    """Keras's backend for a Keras experiment's jobs (set before Keras is imported)."""
    return keras_backend(config, wildcards.experiment)


def model_weights(wildcards):
    """The local state-dict file named by `model.weights`, an input of the training job (a torchvision weights
    name is fetched by the job itself)."""
    weights = EXPERIMENTS[wildcards.experiment]["model"].get("weights")
    return [weights] if is_weights_file(weights) else []


def eval_params(wildcards):
    return {"threshold": EXPERIMENTS[wildcards.experiment]["threshold"]}


# Snakemake's priorities order the jobs that are ready to run (it does not pass them on to their inputs):
# downloads and dataset builds unlock every training job, so they go first; a Grad-CAM table of one seed (~1-2 min,
# on the way to the report) starts as soon as its seed's models exist; training jobs by their estimated cost.
UNLOCKING = 100_000
LONG_TAIL = 50_000


def train_priority(wildcards):
    """Longest training jobs first (labelbench.config.training_priority)."""
    return training_priority(config, wildcards.experiment, wildcards.variant)


def train_threads(wildcards):
    """Cores a training job is scheduled on (its configured threads)."""
    return EXPERIMENTS[wildcards.experiment]["training"]["threads"]


def speed_claim(experiment):
    """The experiment's first speed claim (what it times, its steps and rounds), or None."""
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


def speed_threads(wildcards):
    return EXPERIMENTS[wildcards.experiment]["training"]["threads"]


def speed_settings(wildcards):
    """The experiment's own model, input size, batch, device and threads, and the claim's steps and rounds."""
    exp = wildcards.experiment
    spec = EXPERIMENTS[exp]
    claim = speed_claim(exp)
    return dict(
        size=DATASETS[spec["dataset"]].get("size", 32),
        batch=spec["training"]["batch_size"],
        steps=claim.get("steps", 40),
        rounds=claim.get("rounds", 12),
        losses=[claim["slower"], claim["faster"]],
        model_spec=spec["model"],
        device=training_device(config, exp),
        threads=spec["training"]["threads"],
        backend=keras_backend(config, exp),
    )


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
    """Every figure of the experiment: those drawn from its tables, then its Grad-CAM figures."""
    exp, spec = get_experiment(experiment), EXPERIMENTS[experiment]
    kinds = exp.figure_kinds(spec) + exp.gradcam_figures(spec)
    return [f"{RESULTS}/{experiment}/figures/{k}.png" for k in kinds]


def table_figure_kinds():
    """Figure kinds drawn from the stored tables, over every experiment of the config (the rule's constraint)."""
    kinds = {
        k for e in EXPERIMENTS for k in get_experiment(e).figure_kinds(EXPERIMENTS[e])
    }
    return "|".join(sorted(kinds)) or "no_such_figure"


def metric_table_kinds():
    """Tables made from the stored metrics, over every experiment of the config (the rule's constraint)."""
    kinds = {t for e in EXPERIMENTS for t in get_experiment(e).metric_tables}
    return "|".join(sorted(kinds)) or "no_such_table"


def experiment_tables(experiment):
    """Tables beyond summary.csv, each made by the rule of its name."""
    return [
        f"{RESULTS}/{experiment}/{t}.csv" for t in get_experiment(experiment).tables
    ]


def report_inputs(wildcards):
    """Everything the report reads, named by what it is and grouped by experiment (the script never sorts paths)."""
    inputs = {
        "datasets": [sidecar(d) for d in DATASETS],
        "dataset_figures": [f for d in DATASETS for f in dataset_figures(d)],
        "runs": run_records(),
        "benchmarks": [path for _, path in benchmark_files()],
    }
    for exp in EXPERIMENTS:
        inputs[f"summary_{exp}"] = f"{RESULTS}/{exp}/summary.csv"
        inputs[f"claims_{exp}"] = f"{RESULTS}/{exp}/claims.csv"
        inputs[f"notebook_{exp}"] = f"{RESULTS}/notebooks/{exp}.html"
        inputs[f"figures_{exp}"] = experiment_figures(exp)
        inputs[f"tables_{exp}"] = experiment_tables(exp)
    return inputs


def dataset_figure_names():
    """Captions of the dataset figures, in report_inputs' order."""
    return [f"{d}: {kind}" for d in DATASETS for kind in ("samples", "labels")]


def benchmark_files():
    """(job, benchmark file) of every job whose time and memory the report lists: dataset builds and training."""
    jobs = [(f"data/{d}", f"{RESULTS}/benchmarks/data/{d}.tsv") for d in DATASETS]
    for exp in EXPERIMENTS:
        for v in EXPERIMENTS[exp]["variants"]:
            for s in variant_seeds(exp, v):
                jobs.append(
                    (
                        f"train/{exp}/{v}/{s}",
                        f"{RESULTS}/benchmarks/train/{exp}/{v}/{s}.tsv",
                    )
                )
    return jobs


def benchmark_threads():
    """Threads of each job of benchmark_files(), in its order: a training job (`train/<experiment>/...`) its
    experiment's configured threads, a dataset build 1."""
    parts = [Path(job).parts for job, _ in benchmark_files()]
    return [
        EXPERIMENTS[p[1]]["training"]["threads"] if p[0] == "train" else 1
        for p in parts
    ]


def notebook_paths(wildcards, input):
    """The notebook's tables, by name (the template reads these, never a folder)."""
    table_names = get_experiment(wildcards.experiment).tables
    return {
        "summary": str(Path(input.summary).resolve()),
        "metrics": str(Path(input.metrics).resolve()),
        "claims": str(Path(input.claims).resolve()),
        "histories": [str(Path(p).resolve()) for p in input.histories],
        "tables": {
            name: str(Path(t).resolve()) for name, t in zip(table_names, input.tables)
        },
    }


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
    """The dataset's config, with `user_files` added where the build reads the user's `path:` itself: what that
    folder or archive holds (names, sizes, times; labelbench.datasets.manifest), read with stat only, nothing
    written. A changed, added or removed file changes these params and Snakemake reruns the build; an unchanged
    folder gives the same value. Inside the spec rather than a params entry of its own, so that the other datasets'
    params stay as they were recorded (a new entry would rerun every build once)."""
    spec = DATASETS[wildcards.dataset]
    path = user_path(spec)
    return {**spec, "user_files": path_manifest(path)} if path else spec
