# The sources' claims decided on this run, and the evidence only they need: a speed claim's step times and
# the worked examples recomputed by our loss code.


# Every claim of the experiment decided on this run (labelbench.claims): the report, claims.csv and the notebook
# all read this one table.
rule claims:
    input:
        unpack(claim_inputs),
    output:
        table=report(
            f"{RESULTS}/{{experiment}}/claims.csv",
            category="{experiment}",
            caption="../report/claims.rst",
        ),
    log:
        f"{RESULTS}/logs/claims/{{experiment}}.log",
    conda:
        SOFTWARE
    params:
        config=lambda wc: experiment_config(config, wc.experiment),
    script:
        "../workflow/scripts/claims.py"


# A speed claim's step times, measured on this machine with the experiment's own model (labelbench.keras.speed).
rule step_timing:
    output:
        f"{RESULTS}/{{experiment}}/speed.json",
    log:
        f"{RESULTS}/logs/step_timing/{{experiment}}.log",
    wildcard_constraints:
        experiment=experiments_timed(),
    # needs only the dataset: timed beside the training jobs rather than alone after them (2.5 min at the end of
    # a default run, measured)
    priority: LONG_TAIL
    conda:
        SOFTWARE
    threads: speed_threads
    resources:
        gpu=train_gpus,
    params:
        settings=speed_settings,
    script:
        "../workflow/scripts/step_timing.py"


# The sources' worked examples recomputed by our loss code, for the exact claims (labelbench.keras.worked_examples).
rule worked_examples:
    output:
        f"{RESULTS}/{{experiment}}/worked_examples.json",
    log:
        f"{RESULTS}/logs/worked_examples/{{experiment}}.log",
    conda:
        SOFTWARE
    params:
        claims=exact_claims,
        backend=experiment_backend,
    script:
        "../workflow/scripts/worked_examples.py"
