# Datasets: download (with checksums), build or synthesise, and one figure pair per dataset.


rule download:
    output:
        f"{RESULTS}/downloads/{{dataset}}/{{filename}}",
    log:
        f"{RESULTS}/logs/download/{{dataset}}/{{filename}}.log",
    priority: UNLOCKING
    retries: 1
    conda:
        SOFTWARE
    params:
        remote=download_params,
    script:
        "../workflow/scripts/download.py"


rule check_dataset:
    output:
        f"{RESULTS}/checks/data/{{dataset}}/{{change}}.txt",
    log:
        f"{RESULTS}/logs/check_data/{{dataset}}/{{change}}.log",
    priority: UNLOCKING
    conda:
        SOFTWARE
    params:
        folder=dataset_folder,
    script:
        "../workflow/scripts/check_dataset.py"


rule build_dataset:
    input:
        upstream=dataset_inputs,
        checked=dataset_check,
    output:
        sidecar("{dataset}"),
    log:
        f"{RESULTS}/logs/data/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/data/{{dataset}}.tsv"
    priority: UNLOCKING
    conda:
        SOFTWARE
    params:
        spec=dataset_spec,
    script:
        "../workflow/scripts/build_dataset.py"


rule dataset_figures:
    input:
        sidecar("{dataset}"),
    output:
        samples=report(
            f"{RESULTS}/data/{{dataset}}/figures/samples.png",
            category="Datasets",
            caption="../report/dataset_samples.rst",
        ),
        labels=report(
            f"{RESULTS}/data/{{dataset}}/figures/labels.png",
            category="Datasets",
            caption="../report/dataset_labels.rst",
        ),
    log:
        f"{RESULTS}/logs/data_figures/{{dataset}}.log",
    conda:
        SOFTWARE
    params:
        n=config["figures"]["sample_grid"],
        dpi=config["figures"]["dpi"],
    script:
        "../workflow/scripts/dataset_figures.py"
